import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseFormat } from '../../src/cli/commands/snapshot-export.js';
import type { CliContext } from '../../src/cli/context.js';
import { readPassphrase } from '../../src/cli/passphrase.js';
import { testArchiveLimits } from '../../src/cli/commands/snapshot-import.js';
import { labelFromName } from '../../src/engine/archive/import.js';
import { layoutPlace, payloadPathOf, zipNameOf } from '../../src/engine/qwenpaw/archive-layout.js';
import { defaultBackupName, parseQwenPawMeta, qwenPawBackupId, serializeQwenPawMeta } from '../../src/engine/qwenpaw/meta.js';
import { ClawbackError, exitCodeFor } from '../../src/errors.js';

const failure = (fn: () => unknown): ClawbackError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ClawbackError) return error;
    throw error;
  }
  throw new Error('expected a ClawbackError');
};

describe('QwenPaw meta.json', () => {
  it('makes ids as QwenPaw does: qwenpaw-<version>-<UTC stamp>-<short8>, the version made safe', () => {
    const time = new Date('2026-04-21T14:11:25.795Z');
    expect(qwenPawBackupId('1.1.2', time, 'ab12cd34')).toBe('qwenpaw-1.1.2-20260421T141125Z-ab12cd34');
    expect(qwenPawBackupId('1.2.0+dev/7', time, '00000000')).toBe('qwenpaw-1.2.0_dev_7-20260421T141125Z-00000000');
    expect(qwenPawBackupId('', time, '00000000')).toBe('qwenpaw-unknown-20260421T141125Z-00000000');
  });

  it('names a backup "Backup YYYY-MM-DD HH:mm" in local time', () => {
    const time = new Date(2026, 3, 1, 9, 5, 59);
    expect(defaultBackupName(time)).toBe('Backup 2026-04-01 09:05');
  });

  it('parses what QwenPaw writes, defaulting what it may leave out', () => {
    const meta = parseQwenPawMeta(JSON.stringify({ id: 'qwenpaw-1.1.2-20260421T141125Z-ab12cd34', name: 'Nightly', created_at: '2026-04-21T14:11:25.795000Z', scope: { include_secrets: true }, signature: 'hmac-sha256-v1:00', accepted_via_trust: false }), 'x.zip');
    expect(meta.scope).toEqual({ include_agents: true, include_global_config: true, include_secrets: true, include_skill_pool: true });
    expect(meta).toEqual(expect.objectContaining({ version: '1', description: '', agent_count: 0, qwenpaw_version: '', signature: 'hmac-sha256-v1:00', accepted_via_trust: false }));
    // legacy UUID ids are valid too
    expect(parseQwenPawMeta('{"id":"6f1c2d3e-aaaa-bbbb-cccc-0123456789ab","name":"old"}', 'x').id).toBe('6f1c2d3e-aaaa-bbbb-cccc-0123456789ab');
  });

  it('refuses ids that could name a path, unknown versions, and non-JSON, as integrity errors', () => {
    for (const text of ['{"id":"../x","name":"n"}', '{"id":"a/b","name":"n"}', '{"id":"ok","name":"n","version":"2"}', '{"id":"ok"}', 'not json', '[]', '{"id":"ok","name":"n","created_at":"yesterday"}']) {
      expect(exitCodeFor(failure(() => parseQwenPawMeta(text, 'x.zip'))), text).toBe(6);
    }
  });

  it('serialises the fields in QwenPaw order, signature and trust null', () => {
    const text = serializeQwenPawMeta({
      id: 'qwenpaw-unknown-20260421T141125Z-ab12cd34',
      name: 'n',
      description: '',
      created_at: '2026-04-21T14:11:25.795Z',
      version: '1',
      scope: { include_skill_pool: false, include_secrets: false, include_global_config: true, include_agents: true },
      agent_count: 1,
      qwenpaw_version: 'unknown',
      system_info: {},
      signature: null,
      accepted_via_trust: null,
    });
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['id', 'name', 'description', 'created_at', 'version', 'scope', 'agent_count', 'qwenpaw_version', 'system_info', 'signature', 'accepted_via_trust']);
    expect(Object.keys((JSON.parse(text) as { scope: object }).scope)).toEqual(['include_agents', 'include_global_config', 'include_secrets', 'include_skill_pool']);
    expect(text).toContain('\n  "signature": null,\n');
  });
});

describe('QwenPaw archive layout', () => {
  it('places bundle paths in the four sections, agent ids checked', () => {
    expect(layoutPlace('config.json')).toEqual({ section: 'config' });
    expect(layoutPlace('workspaces/research/memory/2026-04-21.md')).toEqual({ section: 'workspaces', agent: 'research' });
    expect(layoutPlace('skill_pool/pdf/SKILL.md')).toEqual({ section: 'skill_pool' });
    expect(layoutPlace('secrets/providers.json')).toEqual({ section: 'secrets' });
    for (const outside of ['models/x.gguf', 'workspaces/loose.txt', 'workspaces/a b/x', 'workspaces/-x/y', 'skill_pool', 'logs/qwenpaw.log', 'config.json.bak']) {
      expect(layoutPlace(outside), outside).toBeUndefined();
    }
    expect(zipNameOf('workspaces/default/agent.json')).toBe('data/workspaces/default/agent.json');
    expect(payloadPathOf('data/workspaces/default/agent.json')).toBe('workspaces/default/agent.json');
    expect(payloadPathOf('meta.json')).toBeUndefined();
    expect(payloadPathOf('data/platform_content/media/x.png')).toBeUndefined();
  });

  it('turns a backup name into a label, and never into a selector', () => {
    expect(labelFromName('Backup 2026-04-21 14:11')).toBe('Backup-2026-04-21-14-11');
    expect(labelFromName('Before upgrade (v1.1)')).toBe('Before-upgrade-v1.1');
    expect(labelFromName('  ✓ résumé  ')).toBe('resume');
    expect(labelFromName('v3')).toBe('imported-v3');
    expect(labelFromName('latest')).toBe('imported-latest');
    expect(labelFromName('!!!')).toBeNull();
    expect(labelFromName('x'.repeat(100))).toHaveLength(63);
  });
});

describe('export and import options', () => {
  it('picks the format from --format, else from the file name', () => {
    expect(chooseFormat(undefined, 'a.zip')).toBe('qwenpaw-zip');
    expect(chooseFormat(undefined, 'a.tar')).toBe('tar');
    expect(chooseFormat(undefined, 'a.tar.gz')).toBe('tar.gz');
    expect(chooseFormat(undefined, 'a.tgz.enc')).toBe('tar.gz');
    expect(chooseFormat(undefined, 'a.tar.enc')).toBe('tar');
    expect(chooseFormat('tar', 'a.zip')).toBe('tar');
    expect(exitCodeFor(failure(() => chooseFormat('rar', 'a.rar')))).toBe(2);
    expect(exitCodeFor(failure(() => chooseFormat(undefined, undefined)))).toBe(2);
  });

  it('reads the test-only archive limits', () => {
    expect(testArchiveLimits(undefined)).toBeUndefined();
    expect(testArchiveLimits('{"maxEntries":3,"bogus":1,"maxTotalBytes":-1}')).toEqual({ maxEntries: 3 });
    expect(exitCodeFor(failure(() => testArchiveLimits('{')))).toBe(2);
  });
});

describe('passphrase', () => {
  const context = (env: Record<string, string>, interactive: boolean, answers: string[] = []): { ctx: CliContext; asked: string[] } => {
    const asked: string[] = [];
    const ctx = {
      io: { env, cwd: os.tmpdir(), homedir: os.homedir(), prompt: async (q: string) => (asked.push(q), answers.shift() ?? '') },
      interactive,
      progress: { stop: () => undefined },
    } as unknown as CliContext;
    return { ctx, asked };
  };

  it('takes --passphrase-file first (one trailing newline dropped), then CLAWBACK_PASSPHRASE', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-pass-')), 'p');
    fs.writeFileSync(file, 'from file \n');
    expect(await readPassphrase(context({ CLAWBACK_PASSPHRASE: 'env' }, true).ctx, { file, confirm: true })).toBe('from file ');
    expect(await readPassphrase(context({ CLAWBACK_PASSPHRASE: 'env' }, true).ctx, { confirm: true })).toBe('env');
    fs.writeFileSync(file, '\n');
    expect(exitCodeFor(await readPassphrase(context({}, true).ctx, { file, confirm: false }).catch((e: unknown) => e))).toBe(2);
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it('asks on a terminal, twice when setting one; refuses without a terminal', async () => {
    const twice = context({}, true, ['s3cret', 's3cret']);
    expect(await readPassphrase(twice.ctx, { confirm: true })).toBe('s3cret');
    expect(twice.asked).toEqual(['Passphrase: ', 'Repeat passphrase: ']);
    const once = context({}, true, ['s3cret']);
    expect(await readPassphrase(once.ctx, { confirm: false })).toBe('s3cret');
    expect(once.asked).toHaveLength(1);
    const mismatch = context({}, true, ['one', 'two']);
    expect(exitCodeFor(await readPassphrase(mismatch.ctx, { confirm: true }).catch((e: unknown) => e))).toBe(2);
    const refused = await readPassphrase(context({}, false).ctx, { confirm: true }).catch((e: unknown) => e);
    expect(exitCodeFor(refused)).toBe(5);
    expect((refused as ClawbackError).hint).toContain('CLAWBACK_PASSPHRASE');
  });
});
