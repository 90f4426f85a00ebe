import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { REPO, clawback, json, tempDir } from '../helpers/cli.js';
import { manifestJson } from '../helpers/bundles.js';

/**
 * Issue 11, "Must show": a Hermes home whose models/, runtimes/, hermes-agent/ and node/ hold several
 * sparse GiB snapshots without them, captures every database (profiles' included), treats
 * browser-profile/ as a secret, and does not hang on a browser database another process holds locked.
 */

interface Entry {
  path: string;
  type: string;
  strategy?: string;
}
interface Manifest {
  entries: Entry[];
}
interface CreateDoc {
  snapshot: { dir: string; copiedBytes: number };
}

const GIB = 1024 ** 3;
let base: string;
let home: string;
let h: GeneratedHome;
let locker: ChildProcess;
const cli = (...args: string[]) => clawback(home, args);

/** A browser holding its History database: an exclusive lock taken by a write, held until killed. */
async function holdLock(file: string): Promise<ChildProcess> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec("INSERT INTO meta VALUES ('locked-by', 'browser')");
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, file], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  let seen = '';
  child.stdout!.setEncoding('utf8');
  while (!seen.includes('locked\n')) {
    const [chunk] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => { throw new Error('the lock holder exited'); })])) as [string];
    seen += chunk;
  }
  return child;
}

const manifestOf = (dir: string): Manifest => manifestJson(dir) as unknown as Manifest;
const inside = (rel: string, dir: string): boolean => rel === dir || rel.startsWith(`${dir}/`);

beforeAll(async () => {
  base = tempDir('clawback-real-hermes-');
  home = path.join(base, 'home');
  h = generateHome({ kind: 'hermes', scale: 'tiny', dir: path.join(base, 'hermes'), sparseBytes: 6 * GIB });
  const added = await cli('sandbox', 'add', 'hermes', '--agent', 'hermes', '--root', h.root);
  expect(added.exitCode, String(added.stderr)).toBe(0);
  locker = await holdLock(h.paths.lockedDatabase!);
}, 60_000);

afterAll(() => {
  locker?.kill('SIGKILL');
  fs.rmSync(base, { recursive: true, force: true });
});

describe('a real-layout Hermes home', () => {
  it('snapshots without the sparse GiB, the locked browser profiles or the caches, and with every database', async () => {
    expect(h.sparseBytes).toBeGreaterThan(5.9 * GIB);
    const created = await cli('hermes', 'snapshot', 'create', '--json');
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const doc = json<CreateDoc>(created).snapshot;
    expect(doc.copiedBytes).toBeLessThan(50 * 1024 * 1024);
    const entries = manifestOf(doc.dir).entries;
    const paths = entries.map((e) => e.path);
    for (const rel of [...h.expect.excluded, ...h.expect.machineLocal]) expect(paths.filter((p) => inside(p, rel)), rel).toEqual([]);
    for (const rel of h.expect.captured) expect(paths, rel).toContain(rel);
    for (const db of h.databases) {
      const rel = path.relative(h.root, db);
      expect(entries.find((e) => e.path === rel)?.strategy, rel).toBe('sqlite_backup');
    }
    expect(paths).toContain('profiles/work/state.db');
    // Named like a database, but plain text: copied as a file.
    expect(entries.find((e) => e.path === 'memories/notes.db')).toMatchObject({ type: 'file' });
    expect(entries.find((e) => e.path === 'memories/notes.db')?.strategy).not.toBe('sqlite_backup');
  }, 60_000);

  it('leaves browser-profile/ out with the other secrets when asked to', async () => {
    const created = await cli('hermes', 'snapshot', 'create', '--no-secrets', '--json');
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const paths = manifestOf(json<CreateDoc>(created).snapshot.dir).entries.map((e) => e.path);
    for (const rel of h.expect.secrets) expect(paths.filter((p) => inside(p, rel)), rel).toEqual([]);
    expect(h.expect.secrets).toContain('browser-profile');
    expect(paths).toContain('SOUL.md');
  }, 60_000);
});
