import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAgentManifest } from '../../src/engine/sandbox/layout.js';
import { scanMounts, type ScanResult } from '../../src/engine/sandbox/scan.js';
import { Selection, type ScopeOptions } from '../../src/engine/sandbox/selection.js';

/**
 * Which paths of a small hand-built home each built-in manifest captures, under which module and
 * agent, and which it leaves out — through the same scan and selection a snapshot uses.
 */

const roots: string[] = [];

afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

/** A tree from paths: `dir/` is a directory, `a -> b` a symlink, anything else a file holding its own name. */
function home(paths: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-builtin-'));
  roots.push(root);
  for (const item of paths) {
    const [rel, target] = item.split(' -> ') as [string, string | undefined];
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    if (target !== undefined) fs.symlinkSync(target.replace('$ROOT', root), abs);
    else if (rel.endsWith('/')) fs.mkdirSync(abs, { recursive: true });
    else fs.writeFileSync(abs, rel);
  }
  return root;
}

function scan(kind: string, root: string, scope: ScopeOptions = {}): ScanResult {
  const manifest = loadAgentManifest(kind);
  const mounts = [{ prefix: '', dir: root }];
  return scanMounts(mounts, new Selection(manifest, mounts, scope), manifest.managedLinks);
}

/** Captured files and links as `path module[/agent]`. */
function captured(result: ScanResult): string[] {
  return [...result.entries].filter((e) => e.type !== 'dir').map((e) => `${e.path} ${e.module}${e.agent ? `/${e.agent}` : ''}`);
}

function left(result: ScanResult): Record<string, string> {
  return Object.fromEntries(result.skipped.map((s) => [s.path, s.reason]));
}

describe('built-in openclaw', () => {
  const tree = [
    'openclaw.json', 'openclaw.json.last-good', '.config-hash', 'openclaw.json.clobbered.1767225600', '.env', 'secrets.json',
    'credentials/whatsapp/acct/creds.json', 'state/openclaw.sqlite',
    'agents/main/agent/openclaw-agent.sqlite', 'agents/main/agent/auth-profiles.json', 'agents/main/agent/auth.json',
    'agents/main/agent/models.json', 'agents/main/sessions/cold/s1.jsonl',
    'workspace/AGENTS.md', 'workspace/memory/2026-01-02.md', 'workspace-coder/SOUL.md',
    'memory/main.sqlite', 'skills/s/SKILL.md', 'extensions/e/index.js', 'extensions/e/node_modules/dep/index.js',
    'extensions/e/lib/node_modules/deep/x.js', 'cron/jobs.json', 'media/inbound/a.png',
    'identity/device.json', 'devices/paired.json', 'logs/gw.log', 'browser/Default/Cookies', 'tmp/x', 'dev/x', 'git/x', 'npm/x', 'tools/x',
    'gateway.pid', 'run.lock',
  ];

  it('puts each path in the module that means something, and leaves out the regenerable and the machine-local', () => {
    const result = scan('openclaw', home([...tree, 'plugin-skills/gh -> /opt/openclaw/skills/gh']));
    expect(result.unsafeLinks).toEqual([]);
    expect(captured(result).sort()).toEqual([
      '.config-hash config', '.env secrets', 'agents/main/agent/auth-profiles.json secrets/main', 'agents/main/agent/auth.json secrets/main',
      'agents/main/agent/models.json agents/main', 'agents/main/agent/openclaw-agent.sqlite sessions/main',
      'agents/main/sessions/cold/s1.jsonl sessions/main', 'credentials/whatsapp/acct/creds.json secrets', 'cron/jobs.json cron',
      'extensions/e/index.js extensions', 'media/inbound/a.png media', 'memory/main.sqlite memory', 'openclaw.json config',
      'openclaw.json.last-good config', 'plugin-skills/gh skills', 'secrets.json secrets', 'skills/s/SKILL.md skills',
      'state/openclaw.sqlite sessions', 'workspace-coder/SOUL.md workspaces/coder', 'workspace/AGENTS.md workspaces',
      'workspace/memory/2026-01-02.md workspaces',
    ]);
    const skipped = left(result);
    for (const dir of ['logs', 'browser', 'tmp', 'dev', 'git', 'npm', 'tools', 'extensions/e/node_modules', 'extensions/e/lib/node_modules']) expect(skipped[dir]).toBe('excluded');
    for (const file of ['openclaw.json.clobbered.1767225600', 'gateway.pid', 'run.lock']) expect(skipped[file]).toBe('excluded');
    expect(skipped.identity).toBe('machine_local');
    expect(skipped.devices).toBe('machine_local');
  });

  it('records the absolute links of plugin-skills/ as links, and still refuses one anywhere else', () => {
    const ok = scan('openclaw', home(['plugin-skills/a -> /opt/openclaw/skills/a', 'plugin-skills/nested/b -> /elsewhere/b']));
    expect([...ok.entries].filter((e) => e.type === 'symlink').map((e) => [e.path, e.target])).toEqual([
      ['plugin-skills/a', '/opt/openclaw/skills/a'],
      ['plugin-skills/nested/b', '/elsewhere/b'],
    ]);
    const bad = scan('openclaw', home(['skills/a -> /opt/openclaw/skills/a']));
    expect(bad.unsafeLinks).toEqual(['skills/a -> /opt/openclaw/skills/a']);
  });

  it('--no-secrets leaves the per-agent auth files out with the rest of the secrets', () => {
    const result = scan('openclaw', home(tree), { noSecrets: true });
    expect(captured(result).filter((c) => c.includes('secrets'))).toEqual([]);
    expect(left(result)['agents/main/agent/auth.json']).toMatch(/secrets left out/);
  });
});

describe('built-in hermes', () => {
  const nested = (p: string): string[] => [p, `profiles/work/${p}`];
  const tree = [
    ...nested('config.yaml'), ...nested('.env'), ...nested('auth.json'), 'SOUL.md', 'memories/m.md', 'skills/s/SKILL.md', 'skills/.archive/old/SKILL.md',
    'sessions/s1.json', 'cron/jobs.json', 'cron/executions.db', 'platforms/discord.json', 'pairing/codes.json', 'vault.key', 'vault.json.enc',
    'runtime/state.db', 'kanban.db', 'response_store.db', 'gateway/discord_message_recovery.db', 'browser-profile/Default/Cookies',
    ...nested('hermes-agent/run.py'), ...nested('models/m.gguf'), ...nested('runtimes/py/bin'), ...nested('node/bin/node'),
    ...nested('cache/http/x'), ...nested('cache/images/a.png'), 'cache/audio/a.ogg', 'cache/videos/a.mp4', 'cache/documents/a.pdf',
    'cache/screenshots/a.png', 'cache/citations/a.json', ...nested('checkpoints/c'), ...nested('backups/b'), ...nested('state-snapshots/s'),
    'browser-profiles/p/Cookies', ...nested('gateway_state.json'), ...nested('processes.json'), ...nested('hooks/h.sh'),
    'gateway.pid', 'cron.pid', 'gateway.lock', 'kanban.db.1234.lock', ...nested('state.db'),
  ].filter((p) => p !== 'state.db');

  it('captures the user data of the home and of each profile, and none of the code, models, runtimes, caches or backups', () => {
    const result = scan('hermes', home([...tree, 'state.db -> runtime/state.db']));
    expect(result.unsafeLinks).toEqual([]);
    expect(captured(result).sort()).toEqual([
      '.env secrets', 'SOUL.md memory', 'auth.json secrets', 'browser-profile/Default/Cookies secrets', 'cache/audio/a.ogg media',
      'cache/citations/a.json media', 'cache/documents/a.pdf media', 'cache/images/a.png media', 'cache/screenshots/a.png media',
      'cache/videos/a.mp4 media', 'config.yaml config', 'cron/executions.db cron', 'cron/jobs.json cron',
      'gateway/discord_message_recovery.db platforms', 'kanban.db kanban', 'memories/m.md memory', 'pairing/codes.json platforms',
      'platforms/discord.json platforms', 'profiles/work/.env secrets/work', 'profiles/work/auth.json secrets/work',
      'profiles/work/cache/images/a.png profiles/work', 'profiles/work/config.yaml profiles/work', 'profiles/work/state.db profiles/work',
      'response_store.db sessions', 'runtime/state.db sessions', 'sessions/s1.json sessions', 'skills/.archive/old/SKILL.md skills',
      'skills/s/SKILL.md skills', 'state.db sessions', 'vault.json.enc secrets', 'vault.key secrets',
    ]);
    const skipped = left(result);
    for (const dir of ['hermes-agent', 'models', 'runtimes', 'node', 'cache/http', 'checkpoints', 'backups', 'state-snapshots', 'browser-profiles']) {
      expect(skipped[dir], dir).toBe('excluded');
      if (dir !== 'browser-profiles') expect(skipped[`profiles/work/${dir}`], `profiles/work/${dir}`).toBe('excluded');
    }
    for (const file of ['gateway.pid', 'cron.pid', 'gateway.lock', 'kanban.db.1234.lock']) expect(skipped[file]).toBe('excluded');
    for (const p of ['gateway_state.json', 'processes.json', 'hooks']) {
      expect(skipped[p]).toBe('machine_local');
      expect(skipped[`profiles/work/${p}`]).toBe('machine_local');
    }
  });

  it('keeps state.db as a link when it points at the runtime database by an absolute path', () => {
    const result = scan('hermes', home(['runtime/state.db', 'state.db -> $ROOT/runtime/state.db']));
    expect(result.unsafeLinks).toEqual([]);
    expect([...result.entries].find((e) => e.path === 'state.db')).toMatchObject({ type: 'symlink', module: 'sessions' });
    expect([...result.entries].find((e) => e.path === 'runtime/state.db')).toMatchObject({ type: 'file', module: 'sessions' });
  });

  it('--no-secrets leaves browser-profile/ out, in the home and in each profile', () => {
    const result = scan('hermes', home(tree), { noSecrets: true });
    expect(captured(result).filter((c) => c.includes('browser-profile'))).toEqual([]);
    expect(left(result)['browser-profile/Default/Cookies']).toMatch(/secrets left out/);
  });
});

describe('built-in deepagents', () => {
  const tree = [
    'config.toml', '.env', 'hooks.json', '.mcp.json', '.state/sessions.db', '.state/history.jsonl', '.state/mcp-tokens/github.json',
    '.state/version_check.json', '.state/marker', 'sessions.db', 'history.jsonl', 'skills/shared/SKILL.md',
    'agent/AGENTS.md', 'agent/memories/topic.md', 'agent/skills/mine/SKILL.md', 'agent/agents/reviewer/AGENTS.md',
    'coder/AGENTS.md', 'agent/__pycache__/x.pyc',
  ];

  it('treats every top-level directory but skills/ and .state/ as an agent, and .state/ as sessions and secrets', () => {
    const result = scan('deepagents', home(tree));
    expect(captured(result).sort()).toEqual([
      '.env secrets', '.mcp.json config', '.state/history.jsonl sessions', '.state/marker sessions', '.state/mcp-tokens/github.json secrets',
      '.state/sessions.db sessions', 'agent/AGENTS.md memory/agent', 'agent/agents/reviewer/AGENTS.md agents/agent',
      'agent/memories/topic.md memory/agent', 'agent/skills/mine/SKILL.md skills/agent', 'coder/AGENTS.md memory/coder',
      'config.toml config', 'history.jsonl sessions', 'hooks.json config', 'sessions.db sessions', 'skills/shared/SKILL.md skills',
    ]);
    expect(left(result)['.state/version_check.json']).toBe('excluded');
  });

  it('--agent coder keeps the shared files and leaves the other agent out', () => {
    const result = scan('deepagents', home(tree), { agents: ['coder'] });
    const paths = captured(result).map((c) => c.split(' ')[0]);
    expect(paths).toContain('coder/AGENTS.md');
    expect(paths).toContain('config.toml');
    expect(paths).toContain('skills/shared/SKILL.md');
    expect(paths.filter((p) => p!.startsWith('agent/'))).toEqual([]);
  });
});
