import { describe, it, expect } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';

import { IntegrityError, ManifestError } from '../../src/errors.js';
import { mergeConfigText } from '../../src/engine/config-merge/index.js';
import { BUILTIN_MANIFESTS } from '../../src/manifest/builtin.js';
import { parseAgentManifest, type MergeRule } from '../../src/manifest/agent-manifest.js';

function builtinRule(kind: string, file: string): MergeRule {
  const manifest = parseAgentManifest(BUILTIN_MANIFESTS[kind]!, `builtin:${kind}`);
  const rule = manifest.stateFiles.find((f) => f.path === file)?.merge;
  if (!rule) throw new Error(`builtin ${kind} has no merge rule for ${file}`);
  return rule;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function sorted(values: string[]): string[] {
  return [...values].sort();
}

function valueAt(root: unknown, dotted: string): unknown {
  let node = root;
  for (const key of dotted.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('openclaw-config', () => {
  const rule = builtinRule('openclaw', 'openclaw.json');

  const live = {
    ui: { assistant: { name: 'Claw' } },
    gateway: { port: 18789, auth: { token: 'live-token' } },
    proxy: { url: 'http://proxy.live:3128' },
    diagnostics: { enabled: true },
    tools: { toolSearch: { enabled: true }, profile: 'coding' },
    agents: { defaults: { model: 'openai/gpt-5', workspace: '~/.openclaw/workspace' }, list: [{ id: 'main' }] },
    models: {
      mode: 'merge',
      providers: {
        openai: {
          baseUrl: 'https://live.example/v1',
          api: 'openai-responses',
          apiKey: 'live-key',
          models: [
            { id: 'gpt-5', name: 'GPT-5', contextWindow: 400000 },
            { id: 'gpt-5-mini', name: 'GPT-5 mini', contextWindow: 400000 },
            { id: 'gpt-5.1', name: 'GPT-5.1' },
          ],
        },
        local: { baseUrl: 'http://127.0.0.1:11434/v1', api: 'openai-completions', apiKey: 'ollama', models: [{ id: 'qwen3' }] },
      },
    },
  };

  const snapshot = {
    ui: { assistant: { name: 'Claw' } },
    gateway: { port: 9999, auth: { token: 'old-token' }, bind: 'lan' },
    proxy: { url: 'http://proxy.old:3128' },
    diagnostics: { enabled: false },
    tools: { toolSearch: { enabled: false }, profile: 'full', allow: ['exec'] },
    agents: {
      defaults: { model: 'anthropic/claude-opus', thinking: 'high' },
      list: [{ id: 'main' }, { id: 'research', workspace: '~/.openclaw/workspace-research' }],
    },
    channels: { telegram: { enabled: true } },
    models: {
      mode: 'replace',
      providers: {
        openai: {
          baseUrl: 'https://old.example/v1',
          api: 'openai-completions',
          apiKey: 'old-key',
          headers: { 'X-Team': 'a' },
          models: [
            { id: 'gpt-5-mini', name: 'mini (tuned)', maxTokens: 8000 },
            { id: 'gpt-4o', name: 'GPT-4o' },
            { id: 'gpt-5', contextWindow: 200000, cost: { input: 1 } },
          ],
        },
        anthropic: { baseUrl: 'https://api.anthropic.com', api: 'anthropic-messages', apiKey: 'snap-key', models: [{ id: 'claude-opus' }] },
      },
    },
  };

  const expected = {
    ui: { assistant: { name: 'Claw' } },
    gateway: { port: 18789, auth: { token: 'live-token' } },
    proxy: { url: 'http://proxy.live:3128' },
    diagnostics: { enabled: true },
    tools: { toolSearch: { enabled: true }, profile: 'full', allow: ['exec'] },
    agents: {
      defaults: { model: 'anthropic/claude-opus', workspace: '~/.openclaw/workspace', thinking: 'high' },
      list: [{ id: 'main' }, { id: 'research', workspace: '~/.openclaw/workspace-research' }],
    },
    models: {
      mode: 'replace',
      providers: {
        openai: {
          baseUrl: 'https://live.example/v1',
          api: 'openai-responses',
          apiKey: 'live-key',
          models: [
            { id: 'gpt-5', name: 'GPT-5', contextWindow: 200000, cost: { input: 1 } },
            { id: 'gpt-5-mini', name: 'mini (tuned)', contextWindow: 400000, maxTokens: 8000 },
            { id: 'gpt-5.1', name: 'GPT-5.1' },
          ],
          headers: { 'X-Team': 'a' },
        },
        local: { baseUrl: 'http://127.0.0.1:11434/v1', api: 'openai-completions', apiKey: 'ollama', models: [{ id: 'qwen3' }] },
        anthropic: { baseUrl: 'https://api.anthropic.com', api: 'anthropic-messages', apiKey: 'snap-key', models: [{ id: 'claude-opus' }] },
      },
    },
    channels: { telegram: { enabled: true } },
  };

  const merged = mergeConfigText(rule, 'openclaw.json', json(live), json(snapshot));
  const result: unknown = JSON.parse(merged.text);

  it('merges to exactly the expected object, pretty-printed with a trailing newline', () => {
    expect(result).toEqual(expected);
    expect(merged.text).toBe(json(expected));
  });

  it.each([
    ['gateway', 'live'],
    ['proxy', 'live'],
    ['diagnostics', 'live'],
    ['tools.toolSearch', 'live'],
    ['models.providers.openai.baseUrl', 'live'],
    ['models.providers.openai.api', 'live'],
    ['models.providers.openai.apiKey', 'live'],
    ['models.providers.local', 'live'],
    ['tools.profile', 'snapshot'],
    ['tools.allow', 'snapshot'],
    ['agents.defaults.model', 'snapshot'],
    ['agents.defaults.thinking', 'snapshot'],
    ['agents.list', 'snapshot'],
    ['channels', 'snapshot'],
    ['models.mode', 'snapshot'],
    ['models.providers.openai.headers', 'snapshot'],
    ['models.providers.anthropic', 'snapshot'],
  ] as const)('%s comes from the %s file', (path, side) => {
    const source = side === 'live' ? live : snapshot;
    const other = side === 'live' ? snapshot : live;
    expect(valueAt(result, path)).toEqual(valueAt(source, path));
    expect(valueAt(result, path)).not.toEqual(valueAt(other, path));
  });

  it('keeps the live model set and order, with the snapshot tuning laid over matching ids', () => {
    const models = valueAt(result, 'models.providers.openai.models') as { id: string }[];
    expect(models.map((m) => m.id)).toEqual(['gpt-5', 'gpt-5-mini', 'gpt-5.1']);
  });

  it('reports each differing key path by the side it came from', () => {
    expect(sorted(merged.report.fromLive)).toEqual(sorted([
      'gateway',
      'proxy',
      'diagnostics',
      'tools.toolSearch',
      'agents.defaults.workspace',
      'models.providers.openai.baseUrl',
      'models.providers.openai.api',
      'models.providers.openai.apiKey',
      'models.providers.openai.models[gpt-4o]',
      'models.providers.openai.models[gpt-5].name',
      'models.providers.openai.models[gpt-5-mini].contextWindow',
      'models.providers.openai.models[gpt-5.1]',
      'models.providers.local',
    ]));
    expect(sorted(merged.report.fromSnapshot)).toEqual(sorted([
      'tools.profile',
      'tools.allow',
      'agents.defaults.model',
      'agents.defaults.thinking',
      'agents.list',
      'channels',
      'models.mode',
      'models.providers.openai.headers',
      'models.providers.openai.models[gpt-5].contextWindow',
      'models.providers.openai.models[gpt-5].cost',
      'models.providers.openai.models[gpt-5-mini].name',
      'models.providers.openai.models[gpt-5-mini].maxTokens',
      'models.providers.anthropic',
    ]));
    expect(merged.report.skipped).toEqual([]);
  });

  it('leaves out an owned key the live file does not have', () => {
    const out = mergeConfigText(rule, 'openclaw.json', json({ tools: {} }), json({ proxy: { url: 'x' }, tools: { toolSearch: true } }));
    expect(JSON.parse(out.text)).toEqual({ tools: {} });
    expect(out.report).toEqual({ fromLive: ['tools', 'proxy'], fromSnapshot: [], skipped: [], rewritten: false, outsideIncludes: [] });
  });

  it('drops an owned key inside a table only the snapshot has', () => {
    const out = mergeConfigText(rule, 'openclaw.json', json({ ui: {} }), json({ ui: {}, tools: { toolSearch: true, profile: 'full' } }));
    expect(JSON.parse(out.text)).toEqual({ ui: {}, tools: { profile: 'full' } });
  });

  it('adds a snapshot-only provider whole even when live has no providers at all', () => {
    const provider = { baseUrl: 'https://b', api: 'openai-completions', apiKey: 'k', models: [{ id: 'm' }] };
    const out = mergeConfigText(rule, 'openclaw.json', json({ ui: {} }), json({ models: { providers: { b: provider } } }));
    expect(JSON.parse(out.text)).toEqual({ ui: {}, models: { providers: { b: provider } } });
  });

  it('takes the snapshot model list when the live provider has none', () => {
    const out = mergeConfigText(rule, 'openclaw.json', json({ models: { providers: { p: { baseUrl: 'live' } } } }),
      json({ models: { providers: { p: { baseUrl: 'old', models: [{ id: 'm' }] } } } }));
    expect(JSON.parse(out.text)).toEqual({ models: { providers: { p: { baseUrl: 'live', models: [{ id: 'm' }] } } } });
  });

  it('returns the snapshot text verbatim when there is no live file', () => {
    const text = '{"gateway":{"port":1},\n  "odd":   "spacing"}';
    expect(mergeConfigText(rule, 'openclaw.json', undefined, text)).toEqual({
      text,
      report: { fromLive: [], fromSnapshot: [], skipped: [], rewritten: false, outsideIncludes: [] },
    });
  });

  it('reuses the snapshot text when the merge result equals the snapshot', () => {
    const text = '{"ui": {"theme": "dark"}}\n';
    expect(mergeConfigText(rule, 'openclaw.json', '{"ui": {"theme": "light"}}', text).text).toBe(text);
  });

  it('keeps a __proto__ key as data without touching any prototype', () => {
    const out = mergeConfigText(rule, 'openclaw.json', '{"a": {"b": 1}}', '{"a": {"__proto__": {"polluted": true}}}');
    expect(out.text).toBe('{\n  "a": {\n    "b": 1,\n    "__proto__": {\n      "polluted": true\n    }\n  }\n}\n');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('key-allowlist on deepagents config.toml', () => {
  const rule = builtinRule('deepagents', 'config.toml');

  const live = [
    'model = "anthropic:claude-sonnet-4-6"',
    'temperature = 0',
    'max_tokens = 64000',
    'shell_allow_list = ["ls", "cat"]',
    'version = 3',
    '',
    '[ui]',
    'theme = "dark"',
    'show_tokens = true',
    '',
    '[telemetry]',
    'enabled = false',
    '',
  ].join('\n');

  const snapshot = [
    'model = "openai:gpt-5"',
    'temperature = 0.7',
    'max_tokens = "unlimited"',
    'auto_approve = true',
    'shell_allow_list = ["ls", "git", "pytest"]',
    'version = 2',
    '',
    '[ui]',
    'theme = "light"',
    '',
    '[telemetry]',
    'enabled = true',
    '',
  ].join('\n');

  const merged = mergeConfigText(rule, 'config.toml', live, snapshot);

  it('takes allowed keys whose type matches, skips a type mismatch, keeps everything else live', () => {
    expect(parseToml(merged.text)).toEqual({
      model: 'openai:gpt-5',
      temperature: 0.7,
      max_tokens: 64000,
      shell_allow_list: ['ls', 'git', 'pytest'],
      version: 3,
      ui: { theme: 'light' },
      telemetry: { enabled: false },
      auto_approve: true,
    });
  });

  it('keeps TOML integers as integers and floats as floats', () => {
    expect(merged.text).toContain('max_tokens = 64000\n');
    expect(merged.text).toContain('temperature = 0.7\n');
    expect(merged.text).toContain('version = 3\n');
  });

  it('reports the skipped key and where each differing key came from', () => {
    expect(merged.report.skipped).toEqual(['max_tokens']);
    expect(sorted(merged.report.fromSnapshot)).toEqual(sorted([
      'model', 'temperature', 'auto_approve', 'shell_allow_list', 'ui',
    ]));
    expect(sorted(merged.report.fromLive)).toEqual(sorted(['max_tokens', 'version', 'telemetry']));
  });

  it('skips a dotted key whose live parent is not a table', () => {
    const dotted: MergeRule = { kind: 'key-allowlist', keys: ['ui.theme'], protected: [] };
    const out = mergeConfigText(dotted, 'config.toml', 'ui = "plain"\n', '[ui]\ntheme = "light"\n');
    expect(parseToml(out.text)).toEqual({ ui: 'plain' });
    expect(out.report.skipped).toEqual(['ui.theme']);
  });
});

describe('json-merge with protected keys', () => {
  const rule: MergeRule = { kind: 'json-merge', keys: [], protected: ['auth.token', 'server.port', 'plugins.*.path'] };

  it('merges JSON with the snapshot winning except on protected keys, which live owns even when it lacks them', () => {
    const live = {
      server: { port: 8080, host: '0.0.0.0' },
      auth: { user: 'me' },
      plugins: { git: { path: '/usr/lib/git', enabled: false } },
      features: ['a'],
    };
    const snapshot = {
      server: { port: 3000, host: 'localhost', tls: true },
      auth: { user: 'old', token: 'old-secret' },
      plugins: { git: { path: '/opt/git', enabled: true }, lint: { path: '/opt/lint' } },
      features: ['b', 'c'],
    };
    const out = mergeConfigText(rule, 'settings.json', json(live), json(snapshot));
    expect(JSON.parse(out.text)).toEqual({
      server: { port: 8080, host: 'localhost', tls: true },
      auth: { user: 'old' },
      plugins: { git: { path: '/usr/lib/git', enabled: true }, lint: {} },
      features: ['b', 'c'],
    });
    expect(sorted(out.report.fromLive)).toEqual(sorted(['server.port', 'auth.token', 'plugins.git.path', 'plugins.lint.path']));
    expect(sorted(out.report.fromSnapshot)).toEqual(sorted([
      'server.host', 'server.tls', 'auth.user', 'plugins.git.enabled', 'features',
    ]));
  });

  it('merges YAML the same way and writes YAML', () => {
    const live = 'server:\n  port: 8080\n  host: 0.0.0.0\nauth:\n  token: live-secret\nextra: kept\n';
    const snapshot = '# my settings\nserver:\n  port: 3000\n  host: localhost\nauth:\n  token: old-secret\n  user: old\n';
    const out = mergeConfigText(rule, 'config.yml', live, snapshot);
    expect(parseYaml(out.text)).toEqual({
      server: { port: 8080, host: 'localhost' },
      auth: { token: 'live-secret', user: 'old' },
      extra: 'kept',
    });
    expect(sorted(out.report.fromLive)).toEqual(['auth.token', 'extra', 'server.port']);
  });

  it('reuses the snapshot YAML text, comments and all, when nothing protected differs', () => {
    const snapshot = '# my settings\nserver:\n  host: localhost  # loopback only\n';
    const out = mergeConfigText(rule, 'config.yaml', 'server:\n  host: 0.0.0.0\n', snapshot);
    expect(out.text).toBe(snapshot);
    expect(out.report).toEqual({ fromLive: [], fromSnapshot: ['server'], skipped: [], rewritten: false, outsideIncludes: [] });
  });

  it('treats an empty live YAML file as an empty mapping', () => {
    const out = mergeConfigText(rule, 'config.yaml', '', 'server:\n  port: 1\n  host: h\n');
    expect(parseYaml(out.text)).toEqual({ server: { host: 'h' } });
  });
});

describe('parse failures', () => {
  const openclaw = builtinRule('openclaw', 'openclaw.json');
  const deepagents = builtinRule('deepagents', 'config.toml');
  const yamlRule: MergeRule = { kind: 'json-merge', keys: [], protected: [] };

  it.each([
    ['live', openclaw, 'openclaw.json', '{"a": 1,,}', '{"a": 2}', 'JSON5'],
    ['snapshot', openclaw, 'openclaw.json', '{"a": 1}', '{ // comment\n"a": 2', 'JSON5'],
    ['live', deepagents, 'config.toml', 'model = [1,', 'model = "x"', 'TOML'],
    ['snapshot', deepagents, 'config.toml', 'model = "x"', 'model = = 1', 'TOML'],
    ['live', yamlRule, 'config.yaml', 'a: [1,\nb: : c', 'a: 1', 'YAML'],
    ['snapshot', yamlRule, 'config.yaml', 'a: 1', 'a: 1\na: 2', 'YAML'],
    ['live', openclaw, 'openclaw.json', '[1, 2]', '{"a": 2}', 'JSON5'],
    ['snapshot', yamlRule, 'config.yaml', 'a: 1', '- just\n- a list', 'YAML'],
  ] as const)('a broken %s side stops the merge (%s, %s)', (side, rule, file, liveText, snapshotText, label) => {
    const error = thrown(() => mergeConfigText(rule, file, liveText, snapshotText));
    expect(error).toBeInstanceOf(IntegrityError);
    const integrity = error as IntegrityError;
    expect(integrity.code).toBe('config-unparseable');
    expect(integrity.message).toMatch(new RegExp(`^cannot merge ${file.replace('.', '\\.')}: the ${side} copy is not valid ${label}: \\S`));
    expect(integrity.message).not.toContain('\n');
    expect(integrity.hint).toBe('the restore was stopped before anything changed; fix or move the file and retry');
  });

  it('names the TOML line and column', () => {
    const error = thrown(() => mergeConfigText(deepagents, 'config.toml', 'a = 1\nb = [1,\n', 'a = 2'));
    expect((error as IntegrityError).message).toMatch(/ at line \d+, column \d+$/);
  });

  it('refuses a merge rule on a file of unknown format', () => {
    expect(thrown(() => mergeConfigText(yamlRule, 'settings.ini', 'a=1', 'a=2'))).toBeInstanceOf(ManifestError);
  });
});
