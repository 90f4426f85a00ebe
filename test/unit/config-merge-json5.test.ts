import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import JSON5 from 'json5';

import { IntegrityError } from '../../src/errors.js';
import { configHashText, discoverIncludes, mergeConfigText } from '../../src/engine/config-merge/index.js';
import { includeRefs, resolveInside } from '../../src/engine/config-merge/includes.js';
import type { MergeRule } from '../../src/manifest/agent-manifest.js';

const openclaw: MergeRule = { kind: 'openclaw-config', keys: [], protected: [] };

const LIVE = `// written by the gateway
{
  gateway: { port: 19001, mode: 'local', },   // moved by an upgrade
  ui: { theme: 'light' },
  agents: { list: [{ id: 'main', }], },
}
`;

const SNAPSHOT = `/* my settings */
{
  gateway: { port: 18789, mode: 'local' },
  ui: { theme: 'dark', },  // trailing commas everywhere
  'quoted-key': true,
  agents: { list: [{ id: 'main' }, { id: 'work', },], },
}
`;

describe('JSON5 configs', () => {
  it('merges comments, trailing commas, unquoted and single-quoted keys: live owns gateway, the snapshot wins the rest', () => {
    const out = mergeConfigText(openclaw, 'openclaw.json', LIVE, SNAPSHOT);
    expect(JSON.parse(out.text)).toEqual({
      gateway: { port: 19001, mode: 'local' },
      ui: { theme: 'dark' },
      agents: { list: [{ id: 'main' }, { id: 'work' }] },
      'quoted-key': true,
    });
    expect({ ...out.report, fromSnapshot: [...out.report.fromSnapshot].sort() }).toEqual({
      fromLive: ['gateway'],
      fromSnapshot: ['agents', 'quoted-key', 'ui'],
      skipped: [],
      rewritten: true,
      outsideIncludes: [],
    });
  });

  it('keeps the snapshot text with its comments when the merge result is the snapshot', () => {
    const live = "{ gateway: { port: 18789, mode: 'local' }, ui: { theme: 'light' } }";
    const out = mergeConfigText(openclaw, 'openclaw.json', live, SNAPSHOT);
    expect(out.text).toBe(SNAPSHOT);
    expect(out.report.rewritten).toBe(false);
  });

  it('writes values JSON cannot hold as JSON5 rather than turning them into null', () => {
    const out = mergeConfigText(openclaw, 'openclaw.json', '{ gateway: { port: 1 } }', '{ gateway: { port: 2 }, limits: { max: Infinity } }');
    expect(out.report.rewritten).toBe(true);
    expect(JSON5.parse(out.text)).toEqual({ gateway: { port: 1 }, limits: { max: Infinity } });
  });

  it('still stops on a genuinely broken JSON5 file, naming the side', () => {
    let error: unknown;
    try {
      mergeConfigText(openclaw, 'openclaw.json', '{ gateway: { port: 1 }', SNAPSHOT);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as IntegrityError).message).toMatch(/^cannot merge openclaw\.json: the live copy is not valid JSON5: JSON5: invalid end of input at 1:23$/);
  });
});

describe('$include', () => {
  it('resolves references from the including file and refuses absolute ones and ones leaving the root', () => {
    expect(resolveInside('.', './agents.json5')).toBe('agents.json5');
    expect(resolveInside('conf', '../shared/base.json5')).toBe('shared/base.json5');
    expect(resolveInside('conf', 'a/../b.json5')).toBe('conf/b.json5');
    expect(resolveInside('.', '/etc/openclaw/base.json5')).toBeUndefined();
    expect(resolveInside('.', '../outside.json5')).toBeUndefined();
    expect(resolveInside('conf', '../../outside.json5')).toBeUndefined();
    expect(resolveInside('.', 'sub/../../x.json5')).toBeUndefined();
    expect(resolveInside('.', '~/x.json5')).toBeUndefined();
    expect(resolveInside('.', '.')).toBeUndefined();
  });

  it('finds single and listed includes with the key path where their content sits', () => {
    const parsed = JSON5.parse(`{
      $include: './base.json5',
      agents: { $include: './agents.json5', defaults: {} },
      models: { providers: { openai: { $include: ['./p/openai.json5', '/etc/keys.json5'] } } },
      channels: [{ $include: '../escape.json5' }],
    }`) as unknown;
    expect(includeRefs(parsed, 'openclaw.json')).toEqual({
      inside: [
        { file: 'base.json5', at: [] },
        { file: 'agents.json5', at: ['agents'] },
        { file: 'p/openai.json5', at: ['models', 'providers', 'openai'] },
      ],
      outside: ['/etc/keys.json5', '../escape.json5'],
    });
  });

  it('follows nested includes relative to each file, once each, and stops at a cycle', () => {
    const files: Record<string, string> = {
      'openclaw.json': "{ agents: { $include: 'conf/agents.json5' } }",
      'conf/agents.json5': "{ list: { $include: 'list.json5' }, defaults: { $include: '../openclaw.json' } }",
      'conf/list.json5': "[{ id: 'main' }, { $include: '/abs.json5' }]",
    };
    const found = discoverIncludes('openclaw.json', (f) => (files[f] === undefined ? [] : [JSON5.parse(files[f]!)]));
    expect(found).toEqual({
      inside: [
        { file: 'conf/agents.json5', at: ['agents'] },
        { file: 'conf/list.json5', at: ['agents', 'list'] },
      ],
      outside: ['/abs.json5'],
    });
  });

  it('merges an included file by the same rules rebased at its place: provider keys from live, tuning from the snapshot', () => {
    const live = "{ baseUrl: 'https://live.example/v1', apiKey: 'live-key', models: [{ id: 'gpt', contextWindow: 8000 }] }";
    const snapshot = "// my provider\n{ baseUrl: 'https://old.example/v1', apiKey: 'old-key', models: [{ id: 'gpt', contextWindow: 128000 }], timeoutSeconds: 30 }";
    const out = mergeConfigText(openclaw, 'providers/openai.json5', live, snapshot, ['models', 'providers', 'openai']);
    expect(JSON.parse(out.text)).toEqual({ baseUrl: 'https://live.example/v1', apiKey: 'live-key', models: [{ id: 'gpt', contextWindow: 128000 }], timeoutSeconds: 30 });
    expect(out.report.fromLive).toEqual(['models.providers.openai.baseUrl', 'models.providers.openai.apiKey']);
    expect(out.report.rewritten).toBe(true);
  });

  it('keeps an included file whole from live when it sits under a key live owns', () => {
    const live = '{ port: 19001 }';
    const out = mergeConfigText(openclaw, 'gateway.json5', live, '{ port: 18789, bind: "lan" }', ['gateway']);
    expect(out.text).toBe(live);
  });

  it('takes an included list whole from the snapshot', () => {
    const snapshot = "[{ id: 'main' }, { id: 'work' }]";
    expect(mergeConfigText(openclaw, 'agents-list.json5', "[{ id: 'main' }]", snapshot, ['agents', 'list']).text).toBe(snapshot);
  });

  it('reports includes outside the root from either side, never reading them', () => {
    const out = mergeConfigText(openclaw, 'openclaw.json', "{ $include: '/etc/openclaw/base.json5', ui: {} }", "{ $include: '../shared.json5', ui: { theme: 'dark' } }");
    expect(out.report.outsideIncludes).toEqual(['../shared.json5', '/etc/openclaw/base.json5']);
  });
});

describe('.config-hash', () => {
  const config = Buffer.from('{ "gateway": { "port": 18789 } }\n');
  const digest = createHash('sha256').update(config).digest('hex');
  const old = 'a'.repeat(64);

  it('sets the hash of every line naming the config, keeping the file name as written and other lines', () => {
    const text = `${old}  /sandbox/.openclaw/openclaw.json\n${old} *openclaw.json\n${'b'.repeat(64)}  other.json\n`;
    expect(configHashText(text, 'openclaw.json', config)).toBe(`${digest}  /sandbox/.openclaw/openclaw.json\n${digest} *openclaw.json\n${'b'.repeat(64)}  other.json\n`);
  });

  it('leaves a file that names no config as it is', () => {
    expect(configHashText('not a checksum line\n', 'openclaw.json', config)).toBe('not a checksum line\n');
  });
});
