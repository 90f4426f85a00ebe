import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { manifestJson } from '../helpers/bundles.js';

/**
 * What a snapshot does with files that are not what they look like: a file with the SQLite header
 * that SQLite cannot read, a path longer than the system allows, a sparse file. Each case runs the
 * built binary and checks the bytes on disk and the exit code.
 */

let base: string;
let home: string;
let root: string;

beforeEach(async () => {
  base = tempDir('clawback-capture-robust-');
  home = path.join(base, 'home');
  root = path.join(base, 'root');
  fs.mkdirSync(path.join(root, 'workspace'), { recursive: true });
  fs.mkdirSync(path.join(root, 'memory'));
  fs.writeFileSync(path.join(root, 'workspace', 'plain.md'), 'plain text\n');
  const added = await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
});

afterEach(() => {
  // rm walks into a tree deeper than PATH_MAX; fs.rmSync cannot.
  execFileSync('rm', ['-rf', base]);
});

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function bundleDirs(): string[] {
  const dir = path.join(home, 'rebuild-backups', 'oc');
  return fs.readdirSync(dir).filter((n) => !n.startsWith('.') && fs.statSync(path.join(dir, n)).isDirectory()).sort().map((n) => path.join(dir, n));
}

interface ManifestView {
  entries: Array<{ path: string; strategy?: string; sparse?: boolean; sha256?: string }>;
  skipped: Array<{ path: string; reason: string }>;
  degraded?: Array<{ path: string; reason: string }>;
}

function manifestOf(dir: string): ManifestView {
  return manifestJson(dir) as unknown as ManifestView;
}

/** A real database with rows, then a copy with a page overwritten: SQLite opens it and finds it malformed. */
function writeCorruptDatabase(file: string): void {
  const good = file + '.good';
  const db = new Database(good);
  db.exec('CREATE TABLE t (x TEXT)');
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  for (let i = 0; i < 200; i++) insert.run('row '.repeat(100) + i);
  db.close();
  const bytes = fs.readFileSync(good);
  bytes.fill(0xff, 4096, 4096 + 2000);
  fs.writeFileSync(file, bytes);
  fs.rmSync(good);
}

describe('a file SQLite cannot read (item 8)', () => {
  it('is captured as raw bytes and named; the snapshot is partial (exit 3); show, list and a restore agree', async () => {
    const notes = path.join(root, 'workspace', 'notes.md');
    fs.writeFileSync(notes, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.from('these are notes, not a database\n')]));
    const corrupt = path.join(root, 'memory', 'main.sqlite');
    writeCorruptDatabase(corrupt);
    const before = { notes: fs.readFileSync(notes), corrupt: fs.readFileSync(corrupt) };

    const created = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
    expect(created.exitCode, String(created.stderr)).toBe(3);
    const doc = json<{ snapshot: { degraded: Array<{ path: string }>; warnings: string[]; files: number } }>(created);
    expect(doc.snapshot.warnings).toContain('workspace/notes.md: SQLite cannot read it (file is not a database); captured as raw bytes');
    expect(doc.snapshot.warnings.join('\n')).toMatch(/memory\/main\.sqlite: SQLite cannot read it \(.*malformed.*\); captured as raw bytes/);
    expect(doc.snapshot.degraded.map((d) => d.path)).toEqual(['memory/main.sqlite', 'workspace/notes.md']);
    expect(doc.snapshot.files).toBe(3);

    const [dir] = bundleDirs();
    expect(fs.readFileSync(path.join(dir!, 'payload', 'workspace', 'notes.md'))).toEqual(before.notes);
    expect(fs.readFileSync(path.join(dir!, 'payload', 'memory', 'main.sqlite'))).toEqual(before.corrupt);
    const manifest = manifestOf(dir!);
    expect(manifest.degraded?.map((d) => d.path)).toEqual(['memory/main.sqlite', 'workspace/notes.md']);
    expect(manifest.entries.find((e) => e.path === 'workspace/notes.md')).toMatchObject({ strategy: 'copy', sha256: sha256(before.notes) });

    const shown = await clawback(home, ['oc', 'snapshot', 'show', 'latest', '--json']);
    expect(shown.exitCode).toBe(0);
    expect(json<{ snapshot: { degraded: Array<{ path: string; reason: string }> } }>(shown).snapshot.degraded).toEqual(manifest.degraded);
    const listed = await clawback(home, ['oc', 'snapshot', 'list', '--json']);
    expect(json<{ snapshots: Array<{ state: string; degraded: string[] }> }>(listed).snapshots).toMatchObject([{ state: 'complete', degraded: ['memory/main.sqlite', 'workspace/notes.md'] }]);
    expect((await clawback(home, ['oc', 'snapshot', 'verify', 'latest'])).exitCode).toBe(0);

    fs.writeFileSync(notes, 'overwritten');
    fs.rmSync(corrupt);
    const restored = await clawback(home, ['oc', 'snapshot', 'restore', 'latest', '--yes']);
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(fs.readFileSync(notes)).toEqual(before.notes);
    expect(fs.readFileSync(corrupt)).toEqual(before.corrupt);

    // Unchanged, it is named again next time: the partial outcome does not go quiet.
    const again = await clawback(home, ['oc', 'snapshot', 'create']);
    expect(again.exitCode).toBe(3);
    expect(String(again.stderr)).toContain('workspace/notes.md: SQLite cannot read it');
  });

  it('backup-all backs the rest of the home up and names the file (exit 3), every time', async () => {
    fs.writeFileSync(path.join(root, 'workspace', 'notes.md'), Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(100, 7)]));
    for (let run = 1; run <= 2; run++) {
      const result = await clawback(home, ['backup-all', '--json']);
      expect(result.exitCode, String(result.stderr)).toBe(3);
      const doc = json<{ rows: Array<{ name: string; reason?: string; snapshot?: { dir: string } }> }>(result);
      expect(doc.rows[0]?.reason).toContain('workspace/notes.md');
      expect(bundleDirs()).toHaveLength(run);
      expect(fs.readFileSync(path.join(doc.rows[0]!.snapshot!.dir, 'payload', 'workspace', 'plain.md'), 'utf8')).toBe('plain text\n');
    }
  });
});

const LONG_NAME = 'd'.repeat(200);
const DEPTH = 24;

/** Node runs fs calls with whole paths, so a tree deeper than PATH_MAX is made (and read) by a process that walks into it. */
function inDeepTree(script: string): string {
  const walk = `process.chdir(${JSON.stringify(path.join(root, 'workspace'))}); const fs = require('fs'); const n = ${JSON.stringify(LONG_NAME)};`;
  return execFileSync(process.execPath, ['-e', walk + script], { encoding: 'utf8' });
}

describe('paths longer than PATH_MAX (item 9)', () => {
  it('are skipped by name with exit 3; the rest is captured, and a restore never removes them', async () => {
    inDeepTree(`for (let i = 0; i < ${DEPTH}; i++) { fs.mkdirSync(n); process.chdir(n); if (i === 12) fs.writeFileSync('middle.txt', 'middle'); } fs.writeFileSync('deep.txt', 'deep bytes');`);
    const readDeep = `for (let i = 0; i < ${DEPTH}; i++) process.chdir(n); process.stdout.write(fs.readFileSync('deep.txt', 'utf8'));`;
    expect(inDeepTree(readDeep)).toBe('deep bytes');

    const created = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
    expect(created.exitCode, String(created.stderr)).toBe(3);
    const doc = json<{ snapshot: { incomplete: boolean; warnings: string[] } }>(created);
    expect(doc.snapshot.warnings.join('\n')).toContain('longer than the system allows; skipped');
    expect(doc.snapshot.incomplete).toBe(true);
    const [dir] = bundleDirs();
    const manifest = manifestOf(dir!);
    const long = manifest.skipped.filter((s) => s.reason.startsWith('path too long'));
    expect(long.length).toBeGreaterThan(0);
    for (const s of long) expect(Buffer.byteLength(s.path)).toBeGreaterThan(3000);
    expect(fs.readFileSync(path.join(dir!, 'payload', 'workspace', 'plain.md'), 'utf8')).toBe('plain text\n');
    expect(fs.readFileSync(path.join(dir!, 'payload', 'workspace', ...Array<string>(13).fill(LONG_NAME), 'middle.txt'), 'utf8')).toBe('middle');

    fs.writeFileSync(path.join(root, 'workspace', 'plain.md'), 'changed\n');
    const restored = await clawback(home, ['oc', 'snapshot', 'restore', 'latest', '--yes']);
    expect(String(restored.stderr)).not.toContain('internal error');
    // Either the restore carries the long paths over, or it refuses before changing anything.
    expect([0, 5]).toContain(restored.exitCode);
    expect(fs.readFileSync(path.join(root, 'workspace', 'plain.md'), 'utf8')).toBe(restored.exitCode === 0 ? 'plain text\n' : 'changed\n');
    expect(inDeepTree(readDeep)).toBe('deep bytes');
  });

  // A live path that fits PATH_MAX but not the bundle: skipped at capture, so only the restore's rule
  // "keep what the bundle lists as skipped" saves it.
  it('a path that fits live but not in the bundle is kept by a restore', async () => {
    const prefix = Buffer.byteLength(path.join(root, 'workspace')) + 1;
    const nameBytes = 4080 - prefix - 20 * (LONG_NAME.length + 1);
    expect(nameBytes).toBeGreaterThan(0);
    inDeepTree(`for (let i = 0; i < 20; i++) { fs.mkdirSync(n); process.chdir(n); } fs.writeFileSync('e'.repeat(${nameBytes}), 'fits live');`);
    const readIt = `for (let i = 0; i < 20; i++) process.chdir(n); process.stdout.write(fs.readFileSync('e'.repeat(${nameBytes}), 'utf8'));`;
    const created = await clawback(home, ['oc', 'snapshot', 'create']);
    expect(created.exitCode, String(created.stderr)).toBe(3);
    fs.writeFileSync(path.join(root, 'workspace', 'plain.md'), 'changed\n');
    const restored = await clawback(home, ['oc', 'snapshot', 'restore', 'latest', '--yes']);
    expect(String(restored.stderr)).not.toContain('internal error');
    expect(inDeepTree(readIt)).toBe('fits live');
  });
});

const MiB = 1024 * 1024;

describe('sparse files (item 20)', () => {
  it('stay sparse in the bundle and after a restore, with the sha256 of their logical bytes', async () => {
    const file = path.join(root, 'workspace', 'disk.img');
    execFileSync('truncate', ['-s', '256M', file]);
    const fd = fs.openSync(file, 'r+');
    for (const at of [0, 3 * MiB + 5, 100 * MiB, 256 * MiB - 4096]) fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, at);
    fs.closeSync(fd);
    const liveHash = sha256(fs.readFileSync(file));
    expect(fs.statSync(file).blocks * 512).toBeLessThan(MiB);

    const created = await clawback(home, ['oc', 'snapshot', 'create']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const [dir] = bundleDirs();
    const copy = path.join(dir!, 'payload', 'workspace', 'disk.img');
    expect(fs.statSync(copy).size).toBe(256 * MiB);
    expect(fs.statSync(copy).blocks * 512).toBeLessThan(MiB);
    expect(manifestOf(dir!).entries.find((e) => e.path === 'workspace/disk.img')).toMatchObject({ sha256: liveHash, sparse: true });
    expect(manifestOf(dir!).entries.find((e) => e.path === 'workspace/plain.md')?.sparse).toBeUndefined();

    fs.rmSync(file);
    const restored = await clawback(home, ['oc', 'snapshot', 'restore', 'latest', '--yes']);
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(fs.statSync(file).size).toBe(256 * MiB);
    expect(fs.statSync(file).blocks * 512).toBeLessThan(MiB);
    expect(sha256(fs.readFileSync(file))).toBe(liveHash);
    expect((await clawback(home, ['oc', 'snapshot', 'verify', 'latest'])).exitCode).toBe(0);
  });
});
