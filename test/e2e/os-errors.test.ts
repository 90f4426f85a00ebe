import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, REPO, tempDir } from '../helpers/cli.js';
import { bindReadOnly, clawbackAsNobody, expectUserError, NOBODY, switchUserUnavailable, unmount } from '../helpers/os-user.js';

/**
 * Operating-system errors are the user's to fix: every case below runs the built binary and must end
 * with the right exit code, one line naming the path, a hint, and never "internal error".
 */

let base: string;
let home: string;
let root: string;
let archive: string;

beforeAll(async () => {
  base = tempDir('clawback-os-errors-');
  // nobody must reach the files it is meant to reach; what it must not reach is locked below.
  fs.chmodSync(base, 0o755);
  home = path.join(base, 'home');
  root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') }).root;
  expect((await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root])).exitCode).toBe(0);
  expect((await clawback(home, ['oc', 'snapshot', 'create'])).exitCode).toBe(0);
  archive = path.join(base, 'oc.tgz');
  expect((await clawback(home, ['oc', 'snapshot', 'export', 'latest', '-o', archive])).exitCode).toBe(0);
  fs.chmodSync(archive, 0o644);
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/** Every command a user can run against a sandbox, with arguments that would work for the home's owner. */
function everyCommand(): string[][] {
  const out = path.join(base, 'out.tgz');
  return [
    ['sandbox', 'list'],
    ['sandbox', 'show', 'oc'],
    ['sandbox', 'add', 'other', '--agent', 'openclaw', '--root', root],
    ['sandbox', 'remove', 'oc', '--yes'],
    ['backup-all'],
    ['discover'],
    ['oc', 'snapshot', 'create'],
    ['oc', 'snapshot', 'list'],
    ['oc', 'snapshot', 'show', 'latest'],
    ['oc', 'snapshot', 'verify', '--all'],
    ['oc', 'snapshot', 'diff', 'latest'],
    ['oc', 'snapshot', 'restore', 'latest', '--yes'],
    ['oc', 'snapshot', 'delete', 'latest', '--yes'],
    ['oc', 'snapshot', 'prune', '--keep-last', '1'],
    ['oc', 'snapshot', 'export', 'latest', '-o', out],
    ['oc', 'snapshot', 'import', archive],
    ['oc', 'rebuild', '--yes'],
  ];
}

const cannotSwitch = switchUserUnavailable();

describe.skipIf(cannotSwitch !== undefined)(`a home owned by another user${cannotSwitch ? ` (skipped: ${cannotSwitch})` : ''}`, () => {
  it('a 0700 home: every command says permission denied on a path in the home (exit 5)', async () => {
    fs.chmodSync(home, 0o700);
    for (const args of everyCommand()) {
      const result = await clawbackAsNobody(home, args, base);
      const line = expectUserError(result, 5, home, args.join(' '));
      expect(line, args.join(' ')).toContain('permission denied on');
    }
    const asJson = await clawbackAsNobody(home, ['oc', 'snapshot', 'list', '--json'], base);
    expect(asJson.exitCode).toBe(5);
    const doc = JSON.parse(String(asJson.stderr)) as Record<string, unknown>;
    expect(doc).toMatchObject({ code: 'permission-denied', exitCode: 5, message: `permission denied on ${path.join(home, 'sandboxes.json')}` });
    expect(String(doc.hint)).toContain('owner of the home');
  });

  it('a readable home whose locks/ is not ours: every command that locks names the lock (exit 5)', async () => {
    fs.chmodSync(home, 0o755);
    fs.chmodSync(path.join(home, 'sandboxes.json'), 0o644);
    try {
      const locking = [
        ['sandbox', 'add', 'other', '--agent', 'openclaw', '--root', root],
        ['sandbox', 'remove', 'oc', '--yes'],
        ['oc', 'snapshot', 'create'],
        ['oc', 'snapshot', 'delete', 'latest', '--yes'],
        ['oc', 'snapshot', 'prune', '--keep-last', '1'],
      ];
      for (const args of locking) {
        const result = await clawbackAsNobody(home, args, base);
        expectUserError(result, 5, path.join(home, 'locks'), args.join(' '));
      }
    } finally {
      fs.chmodSync(home, 0o700);
    }
  });

  it('a home whose journal/ is not ours: every command names journal/ (exit 5)', async () => {
    fs.chmodSync(home, 0o755);
    const journal = path.join(home, 'journal');
    fs.mkdirSync(journal, { mode: 0o700 });
    try {
      for (const args of everyCommand()) {
        const result = await clawbackAsNobody(home, args, base);
        expectUserError(result, 5, journal, args.join(' '));
      }
    } finally {
      fs.rmdirSync(journal);
      fs.chmodSync(home, 0o700);
    }
    // The owner is unaffected by all of the above.
    expect((await clawback(home, ['oc', 'snapshot', 'list'])).exitCode).toBe(0);
  });
});

describe('paths that are not what they should be', () => {
  it('CLAWBACK_HOME pointing at a regular file: exit 4 naming it', async () => {
    const file = path.join(base, 'not-a-home');
    fs.writeFileSync(file, 'x');
    for (const args of [['sandbox', 'list'], ['oc', 'snapshot', 'list'], ['oc', 'snapshot', 'create'], ['sandbox', 'add', 'x', '--agent', 'openclaw', '--root', root]]) {
      const line = expectUserError(await clawback(file, args), 4, file, args.join(' '));
      expect(line).toContain('not a directory');
    }
  });

  it('export -o /proc/x.tgz: exit 4 naming the output, nothing left behind', async () => {
    const result = await clawback(home, ['oc', 'snapshot', 'export', 'latest', '-o', '/proc/x.tgz']);
    expectUserError(result, 4, '/proc/x.tgz');
    expect(fs.readdirSync('/proc').filter((n) => n.includes('x.tgz'))).toEqual([]);
  });

  it('a missing --passphrase-file: exit 4 naming it, for export and import', async () => {
    const missing = path.join(base, 'no-such-passphrase');
    const out = path.join(base, 'enc.tgz.enc');
    const exported = await clawback(home, ['oc', 'snapshot', 'export', 'latest', '-o', out, '--encrypt', '--passphrase-file', missing]);
    expectUserError(exported, 4, missing, 'export');
    expect(fs.existsSync(out)).toBe(false);

    const made = await clawback(home, ['oc', 'snapshot', 'export', 'latest', '-o', out, '--encrypt'], { env: { CLAWBACK_PASSPHRASE: 'correct horse' } });
    expect(made.exitCode, String(made.stderr)).toBe(0);
    const imported = await clawback(home, ['oc', 'snapshot', 'import', out, '--passphrase-file', missing]);
    expectUserError(imported, 4, missing, 'import');
    fs.rmSync(out);
  });
});

/** Leaves a WAL database as a running agent has it: rows in the -wal, not yet checkpointed, -shm beside it. */
const OPEN_WAL_WRITER = `
import Database from 'better-sqlite3';
const db = new Database(process.argv[1]);
db.pragma('journal_mode = WAL');
db.pragma('wal_autocheckpoint = 0');
db.exec('CREATE TABLE t (a)');
for (let i = 0; i < 5; i++) db.prepare('INSERT INTO t VALUES (?)').run(i);
process.exit(0);
`;

/**
 * A state root holding each kind of SQLite file a home has: a rollback-journal database, a WAL
 * database closed cleanly (no -wal or -shm beside it: a read-only open would have to create them),
 * and one whose writer left its -wal and -shm. Every file 0644, every dir 0755, owned by root.
 */
function readOnlyRoot(dir: string): Record<string, number> {
  fs.mkdirSync(path.join(dir, 'memory'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'openclaw.json'), '{}\n');
  const make = (name: string, wal: boolean, count: number): void => {
    const db = new Database(path.join(dir, 'memory', name));
    if (wal) db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (a)');
    for (let i = 0; i < count; i++) db.prepare('INSERT INTO t VALUES (?)').run(i);
    db.close();
  };
  make('rollback.sqlite', false, 3);
  make('closed-wal.sqlite', true, 4);
  execFileSync(process.execPath, ['--input-type=module', '-e', OPEN_WAL_WRITER, path.join(dir, 'memory', 'open-wal.sqlite')], { cwd: REPO });
  expect(fs.existsSync(path.join(dir, 'memory', 'open-wal.sqlite-wal'))).toBe(true);
  expect(fs.existsSync(path.join(dir, 'memory', 'closed-wal.sqlite-wal'))).toBe(false);
  for (const rel of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(dir, rel);
    fs.chmodSync(full, fs.statSync(full).isDirectory() ? 0o755 : 0o644);
  }
  fs.chmodSync(dir, 0o755);
  return { 'memory/rollback.sqlite': 3, 'memory/closed-wal.sqlite': 4, 'memory/open-wal.sqlite': 5 };
}

/** Every path under dir with its size, mtime and mode. */
function listing(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((rel) => {
      const stat = fs.lstatSync(path.join(dir, rel));
      return `${rel} ${stat.size} ${stat.mtimeMs} ${stat.mode}`;
    })
    .sort();
}

type Runner = (args: string[]) => Promise<{ exitCode?: number; stderr: unknown; stdout: unknown }>;

async function expectCapturedUntouched(run: Runner, stateRoot: string, rows: Record<string, number>): Promise<void> {
  const before = listing(stateRoot);
  const created = await run(['ro', 'snapshot', 'create', '--json']);
  expect(String(created.stderr)).not.toContain('internal error');
  expect(created.exitCode, String(created.stderr)).toBe(0);
  const doc = JSON.parse(String(created.stdout)) as { snapshot: { dir: string; databases: string[] } };
  expect(doc.snapshot.databases.sort()).toEqual(Object.keys(rows).sort());
  for (const [rel, count] of Object.entries(rows)) {
    const copy = new Database(path.join(doc.snapshot.dir, 'payload', rel), { readonly: true });
    expect((copy.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, rel).toBe(count);
    copy.close();
  }
  // Nothing created, changed or left in the state root: no -wal, -shm or -journal appeared.
  expect(listing(stateRoot)).toEqual(before);
  for (const name of ['rollback.sqlite', 'closed-wal.sqlite']) {
    expect(fs.readdirSync(path.join(stateRoot, 'memory')).filter((n) => n.startsWith(`${name}-`)), name).toEqual([]);
  }
  const verified = await run(['ro', 'snapshot', 'verify', 'latest']);
  expect(verified.exitCode, String(verified.stderr)).toBe(0);
}

describe.skipIf(cannotSwitch !== undefined)(`a state root clawback can read but not write${cannotSwitch ? ` (skipped: ${cannotSwitch})` : ''}`, () => {
  it('is snapshotted, databases included, leaving the root exactly as it was (root-owned, run as nobody)', async () => {
    const dir = path.join(base, 'ro-owned');
    const rows = readOnlyRoot(dir);
    const nobodyHome = path.join(base, 'nobody-home');
    fs.mkdirSync(nobodyHome);
    fs.chownSync(nobodyHome, NOBODY, NOBODY);
    const run = (args: string[]): ReturnType<typeof clawbackAsNobody> => clawbackAsNobody(nobodyHome, args, base);
    expect((await run(['sandbox', 'add', 'ro', '--agent', 'openclaw', '--root', dir])).exitCode).toBe(0);
    await expectCapturedUntouched(run, dir, rows);
  });
});

describe('a state root on a read-only mount', () => {
  let dir: string;
  let view: string;
  let rows: Record<string, number>;
  let mounted = false;
  let skipped = '';

  beforeAll(() => {
    // Written through the writable source, then read through the read-only view.
    dir = path.join(base, 'ro-source');
    view = path.join(base, 'ro-view');
    rows = readOnlyRoot(dir);
    if (process.getuid?.() !== 0) skipped = 'needs root to bind-mount';
    else if (!bindReadOnly(dir, view)) skipped = 'mount --bind + remount,ro,bind is not permitted here';
    else mounted = true;
  });

  afterAll(() => {
    if (mounted) unmount(view);
  });

  it('is snapshotted, databases included, and nothing is written into it', async (context) => {
    if (!mounted) {
      console.warn(`read-only bind mount test skipped: ${skipped}`);
      context.skip();
    }
    expect(() => fs.writeFileSync(path.join(view, 'probe'), 'x')).toThrow(/EROFS/);
    const roHome = path.join(base, 'ro-mount-home');
    const run = (args: string[]): ReturnType<typeof clawback> => clawback(roHome, args);
    expect((await run(['sandbox', 'add', 'ro', '--agent', 'openclaw', '--root', view])).exitCode).toBe(0);
    await expectCapturedUntouched(run, view, rows);
  });
});
