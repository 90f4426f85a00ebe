import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { readTree, treeDigest, type TreeOptions } from '../helpers/tree.js';
import { manifestJson } from '../helpers/bundles.js';

const OPENCLAW_TREE: TreeOptions = { skip: (rel) => rel === 'extensions', databasesByContent: true };

/**
 * Small hand-built homes in the layouts OpenClaw and Hermes write today, run through the built
 * binary: what lands in the bundle, what is left out, links the agent manages, and databases that
 * cannot be captured.
 */

let base: string;
let home: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  base = tempDir('clawback-real-homes-');
  home = path.join(base, 'home');
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  fs.rmSync(base, { recursive: true, force: true });
});

function write(root: string, rel: string, content: string | Buffer = rel): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

function database(root: string, rel: string, rows = 3): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  const db = new Database(path.join(root, rel));
  db.exec('CREATE TABLE t (x TEXT)');
  for (let i = 0; i < rows; i++) db.prepare('INSERT INTO t VALUES (?)').run(`${rel} row ${i}`);
  db.close();
}

function rows(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT x FROM t').all() as Array<{ x: string }>).map((r) => r.x);
  } finally {
    db.close();
  }
}

interface Manifest {
  entries: Array<{ path: string; type: string; module: string; target?: string; strategy?: string }>;
  databases?: { expected: string[]; captured: string[]; missing: Array<{ path: string; reason: string }> };
  modulesExpected?: string[];
  includesSecrets: boolean;
}

function onlyBundle(sandbox: string): { dir: string; manifest: Manifest } {
  const dir = path.join(home, 'rebuild-backups', sandbox);
  const ids = fs.readdirSync(dir).filter((n) => /^\d{4}-/.test(n) && !n.includes('.partial')).sort();
  const bundle = path.join(dir, ids.at(-1)!);
  return { dir: bundle, manifest: manifestJson(bundle) as unknown as Manifest };
}

async function add(name: string, kind: string, root: string): Promise<void> {
  const added = await clawback(home, ['sandbox', 'add', name, '--agent', kind, '--root', root]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
}

describe('OpenClaw home with links it manages in plugin-skills/', () => {
  it('snapshots (exit 0) with the absolute links recorded as links, and restores byte-exact, links included, never writing through them', async () => {
    const root = path.join(base, 'openclaw');
    const shared = path.join(base, 'opt-openclaw-skills');
    write(shared, 'gh/SKILL.md', 'plugin skill, owned by OpenClaw\n');
    write(shared, 'other/SKILL.md', 'another\n');
    write(root, 'openclaw.json', '{ "gateway": { "port": 18789 } }\n');
    write(root, 'workspace/AGENTS.md');
    database(root, 'state/openclaw.sqlite');
    database(root, 'agents/main/agent/openclaw-agent.sqlite');
    write(root, 'extensions/e/node_modules/dep/index.js');
    fs.mkdirSync(path.join(root, 'plugin-skills'));
    fs.symlinkSync(path.join(shared, 'gh'), path.join(root, 'plugin-skills', 'gh'));
    fs.symlinkSync('/nonexistent/openclaw/skills/gone', path.join(root, 'plugin-skills', 'dangling'));
    await add('oc', 'openclaw', root);

    const created = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const { manifest } = onlyBundle('oc');
    expect(manifest.entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.target, e.module])).toEqual([
      ['plugin-skills/dangling', '/nonexistent/openclaw/skills/gone', 'skills'],
      ['plugin-skills/gh', path.join(shared, 'gh'), 'skills'],
    ]);
    expect(manifest.entries.some((e) => e.path.includes('node_modules'))).toBe(false);
    expect(manifest.databases).toEqual({ expected: ['agents/main/agent/openclaw-agent.sqlite', 'state/openclaw.sqlite'], captured: ['agents/main/agent/openclaw-agent.sqlite', 'state/openclaw.sqlite'], missing: [] });

    const before = treeDigest(root, OPENCLAW_TREE);
    const sharedBefore = treeDigest(shared);
    // The user breaks the links: one now points elsewhere, one is a real directory.
    fs.rmSync(path.join(root, 'plugin-skills', 'gh'));
    fs.symlinkSync(path.join(shared, 'other'), path.join(root, 'plugin-skills', 'gh'));
    fs.rmSync(path.join(root, 'plugin-skills', 'dangling'));
    write(root, 'plugin-skills/dangling/SKILL.md', 'local copy\n');
    write(root, 'workspace/AGENTS.md', 'changed\n');

    const restored = await clawback(home, ['oc', 'snapshot', 'restore', '--yes']);
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(treeDigest(root, OPENCLAW_TREE)).toEqual(before);
    expect(fs.readlinkSync(path.join(root, 'plugin-skills', 'gh'))).toBe(path.join(shared, 'gh'));
    expect(fs.readlinkSync(path.join(root, 'plugin-skills', 'dangling'))).toBe('/nonexistent/openclaw/skills/gone');
    expect(treeDigest(shared)).toEqual(sharedBefore);
    expect(fs.existsSync('/nonexistent/openclaw')).toBe(false);
  });

  it('still refuses an absolute link outside plugin-skills/ before writing anything (exit 5), naming managed_links', async () => {
    const root = path.join(base, 'openclaw');
    write(root, 'workspace/AGENTS.md');
    fs.symlinkSync('/etc/hostname', path.join(root, 'workspace', 'host'));
    await add('oc', 'openclaw', root);
    const created = await clawback(home, ['oc', 'snapshot', 'create']);
    expect(created.exitCode).toBe(5);
    expect(String(created.stderr)).toContain('workspace/host -> /etc/hostname');
    expect(String(created.stderr)).toContain('managed_links');
    const bundles = path.join(home, 'rebuild-backups', 'oc');
    expect(fs.existsSync(bundles) ? fs.readdirSync(bundles) : []).toEqual([]);
  });
});

describe('Hermes home', () => {
  function hermesHome(root: string): void {
    write(root, 'config.yaml', 'model: x\n');
    write(root, '.env', 'KEY=1\n');
    write(root, 'SOUL.md');
    write(root, 'memories/m.md');
    database(root, 'runtime/state.db');
    fs.symlinkSync(path.join(root, 'runtime', 'state.db'), path.join(root, 'state.db'));
    database(root, 'kanban.db');
    database(root, 'response_store.db');
    database(root, 'gateway/discord_message_recovery.db');
    write(root, 'browser-profile/Default/Cookies', 'cookie jar\n');
    for (const dir of ['models', 'runtimes', 'hermes-agent', 'node']) write(root, `${dir}/big.bin`, Buffer.alloc(4096, 1));
    write(root, 'cache/http/blob', 'regenerable\n');
    write(root, 'cache/images/photo.png', 'user photo\n');
    write(root, 'profiles/work/config.yaml', 'model: y\n');
    database(root, 'profiles/work/state.db');
    write(root, 'profiles/work/models/m.gguf', Buffer.alloc(4096, 2));
    write(root, 'profiles/work/cache/images/p.png', 'profile photo\n');
    write(root, 'gateway.pid', '123\n');
    write(root, 'gateway_state.json', '{}\n');
  }

  it('captures every database (the profile\'s too) and the user\'s media, none of the models, runtimes, code or caches', async () => {
    const root = path.join(base, 'hermes');
    hermesHome(root);
    await add('h', 'hermes', root);
    const created = await clawback(home, ['h', 'snapshot', 'create']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const { manifest, dir } = onlyBundle('h');
    const payload = [...readTree(path.join(dir, 'payload')).entries()].filter(([, item]) => item.type !== 'dir').map(([rel]) => rel).sort();
    expect(payload).toEqual([
      '.env', 'SOUL.md', 'browser-profile/Default/Cookies', 'cache/images/photo.png', 'config.yaml', 'gateway/discord_message_recovery.db',
      'kanban.db', 'memories/m.md', 'profiles/work/cache/images/p.png', 'profiles/work/config.yaml', 'profiles/work/state.db',
      'response_store.db', 'runtime/state.db', 'state.db',
    ]);
    const dbs = ['gateway/discord_message_recovery.db', 'kanban.db', 'profiles/work/state.db', 'response_store.db', 'runtime/state.db'];
    expect(manifest.databases).toEqual({ expected: dbs, captured: dbs, missing: [] });
    for (const db of dbs) expect(manifest.entries.find((e) => e.path === db)?.strategy, db).toBe('sqlite_backup');
    expect(rows(path.join(dir, 'payload', 'profiles/work/state.db'))).toEqual(['profiles/work/state.db row 0', 'profiles/work/state.db row 1', 'profiles/work/state.db row 2']);
    expect(manifest.entries.find((e) => e.path === 'state.db')).toMatchObject({ type: 'symlink', target: path.join(root, 'runtime', 'state.db') });
    expect(manifest.entries.find((e) => e.path === 'browser-profile/Default/Cookies')?.module).toBe('secrets');
  });

  it('--no-secrets leaves browser-profile/ out with the other secrets', async () => {
    const root = path.join(base, 'hermes');
    hermesHome(root);
    await add('h', 'hermes', root);
    const created = await clawback(home, ['h', 'snapshot', 'create', '--no-secrets']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const { manifest } = onlyBundle('h');
    expect(manifest.includesSecrets).toBe(false);
    expect(manifest.entries.filter((e) => e.path.startsWith('browser-profile') || e.path === '.env')).toEqual([]);
    expect(manifest.entries.some((e) => e.path === 'kanban.db')).toBe(true);
  });
});

describe('databases that are not what their name says, or cannot be read', () => {
  it('copies a *.db that is not SQLite as a plain file (exit 0)', async () => {
    const root = path.join(base, 'hermes');
    write(root, 'config.yaml');
    write(root, 'notes.db', 'just text, not a database\n');
    write(root, 'empty.db', '');
    await add('h', 'hermes', root);
    const created = await clawback(home, ['h', 'snapshot', 'create']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const { manifest, dir } = onlyBundle('h');
    expect(fs.readFileSync(path.join(dir, 'payload', 'notes.db'), 'utf8')).toBe('just text, not a database\n');
    expect(fs.statSync(path.join(dir, 'payload', 'empty.db')).size).toBe(0);
    expect(manifest.entries.find((e) => e.path === 'notes.db')?.strategy).toBeUndefined();
    expect(manifest.databases).toEqual({ expected: [], captured: [], missing: [] });
  });

  it('a database another process holds under locking_mode=EXCLUSIVE: bounded wait, then named as not captured (exit 3), in show and list', async () => {
    const root = path.join(base, 'hermes');
    write(root, 'config.yaml');
    database(root, 'response_store.db');
    database(root, 'kanban.db');
    await add('h', 'hermes', root);
    const holder = spawn(process.execPath, ['-e', HOLD_LOCK, path.join(root, 'kanban.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    const lines = readline.createInterface({ input: holder.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line === 'locked' && resolve());
      holder.on('exit', (code) => reject(new Error(`lock holder exited (${code})`)));
    });

    const created = await clawback(home, ['h', 'snapshot', 'create'], { env: { CLAWBACK_SQLITE_WAIT: '1' } });
    expect(created.exitCode, String(created.stderr)).toBe(3);
    expect(String(created.stderr)).toMatch(/database\(s\) not captured: kanban\.db/);
    expect(String(created.stdout)).toMatch(/NOT CAPTURED: kanban\.db/);
    const { manifest, dir } = onlyBundle('h');
    expect(manifest.databases?.expected).toEqual(['kanban.db', 'response_store.db']);
    expect(manifest.databases?.captured).toEqual(['response_store.db']);
    expect(manifest.databases?.missing.map((m) => m.path)).toEqual(['kanban.db']);
    expect(manifest.databases?.missing[0]?.reason).toMatch(/locked/);
    expect(fs.existsSync(path.join(dir, 'payload', 'kanban.db'))).toBe(false);

    const shown = await clawback(home, ['h', 'snapshot', 'show', 'latest', '--json']);
    const detail = json<{ snapshot: { databasesExpected: string[]; databasesMissing: Array<{ path: string }> } }>(shown).snapshot;
    expect(detail.databasesExpected).toEqual(['kanban.db', 'response_store.db']);
    expect(detail.databasesMissing.map((d) => d.path)).toEqual(['kanban.db']);
    expect(String((await clawback(home, ['h', 'snapshot', 'show', 'latest'])).stdout)).toMatch(/NOT CAPTURED: kanban\.db/);
    const listed = json<{ snapshots: Array<{ missingDatabases: string[] }> }>(await clawback(home, ['h', 'snapshot', 'list', '--json']));
    expect(listed.snapshots.map((s) => s.missingDatabases)).toEqual([['kanban.db']]);
  });
});

describe('clawback manifest', () => {
  it('show prints a built-in that check accepts; check names file:line of a problem (exit 2)', async () => {
    const shown = await clawback(home, ['manifest', 'show', 'hermes']);
    expect(shown.exitCode).toBe(0);
    expect(String(shown.stdout)).toMatch(/^agent: hermes\n/);
    const file = path.join(base, 'mine.yaml');
    fs.writeFileSync(file, String(shown.stdout));
    const ok = await clawback(home, ['manifest', 'check', file]);
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
    expect(String(ok.stdout)).toMatch(/^OK .*mine\.yaml: agent hermes, whole capture, \d+ module\(s\) \[secrets \(secret\), .*exclude\(s\).*exception/);
    fs.writeFileSync(file, 'agent: mine\nversion: 1\nmodules:\n  docs: [docs/**]\nmanaged_links:\n  - ../outside\n');
    const bad = await clawback(home, ['manifest', 'check', file]);
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toContain(`${file}:6: managed_links item "../outside" contains '..'`);
    expect((await clawback(home, ['manifest', 'show', 'nosuch'])).exitCode).toBe(2);
  });
});

/** Holds a database the way Chromium does: exclusive locking mode, a write done, then never lets go. */
const HOLD_LOCK = `
const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.pragma('locking_mode = EXCLUSIVE');
db.prepare('INSERT INTO t VALUES (?)').run('held');
console.log('locked');
setInterval(() => {}, 1 << 30);
`;
