import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { openClawFixture, type RestoreFixture } from '../helpers/restore.js';

/** A name as bytes: strings are UTF-8, numbers are raw bytes (0x80–0xFF make it invalid UTF-8). */
type NamePart = string | number[];
const bytes = (...parts: NamePart[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
const under = (root: string, ...names: Buffer[]): Buffer => Buffer.concat([Buffer.from(root, 'utf8'), ...names.flatMap((n) => [Buffer.from('/'), n])]);

/** A readable, exact key for a name: printable ASCII as itself, every other byte as \xHH. */
function key(name: Buffer): string {
  return [...name].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/** Every path below root, read as bytes: type, mode and content hash (or link target). SQLite files are left out: restore rewrites them through SQLite. */
function byteTree(root: string, databases: readonly string[] = []): Record<string, string> {
  const skip = new Set(databases.flatMap((db) => ['', '-wal', '-shm', '-journal'].map((s) => key(Buffer.from(path.relative(root, db) + s)))));
  const out: Record<string, string> = {};
  const walk = (dir: Buffer, rel: string): void => {
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
      const full = Buffer.concat([dir, Buffer.from('/'), name]);
      const childRel = rel === '' ? key(name) : `${rel}/${key(name)}`;
      if (skip.has(childRel)) continue;
      const stat = fs.lstatSync(full);
      const mode = (stat.mode & 0o777).toString(8);
      if (stat.isDirectory()) {
        out[childRel] = `dir ${mode}`;
        walk(full, childRel);
      } else if (stat.isSymbolicLink()) out[childRel] = `link -> ${key(fs.readlinkSync(full, { encoding: 'buffer' }))}`;
      else out[childRel] = `file ${mode} ${crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`;
    }
  };
  walk(Buffer.from(root, 'utf8'), '');
  return out;
}

interface DiffDoc {
  added: Array<{ path: string }>;
  removed: Array<{ path: string }>;
  changed: Array<{ path: string }>;
}

let fixture: RestoreFixture | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

async function ok(result: Promise<{ exitCode?: number; stdout: unknown; stderr: unknown }>): Promise<string> {
  const done = await result;
  expect(done.exitCode, `${String(done.stdout)}\n${String(done.stderr)}`).toBe(0);
  return String(done.stdout);
}

/**
 * What an export leaves out: secrets (unless asked: .env, secrets.json, credentials/, each agent's auth
 * files), excluded caches, logs, tmp, extensions' node_modules and OpenClaw's .clobbered leftovers,
 * machine-local identity.
 */
const NOT_EXPORTED =
  /^(\.env|secrets\.json|credentials|agents\/[^/]+\/agent\/auth[^/]*\.json|browser|logs|tmp|identity|devices|extensions\/[^/]+\/node_modules)(\/|$)|\.clobbered\./;

/** Export the latest snapshot, import it into a fresh sandbox, restore it there: the tree must come back byte for byte. */
async function exportImportRestore(f: RestoreFixture, expected: Record<string, string>): Promise<void> {
  const archive = path.join(f.dir, 'names.tar.gz');
  await ok(f.cli('oc', 'snapshot', 'export', 'latest', '-o', archive));
  const newRoot = path.join(f.dir, 'elsewhere');
  await ok(f.cli('sandbox', 'add', 'copy', '--agent', 'openclaw', '--root', newRoot));
  await ok(f.cli('copy', 'snapshot', 'import', archive));
  await ok(f.cli('copy', 'snapshot', 'verify'));
  await ok(f.cli('copy', 'snapshot', 'restore', 'latest', '--yes'));
  const exported = Object.fromEntries(Object.entries(expected).filter(([rel]) => !NOT_EXPORTED.test(rel)));
  expect(byteTree(newRoot, f.databases.map((db) => path.join(newRoot, path.relative(f.root, db))))).toEqual(exported);
}

/** restore, then diff of the same snapshot against the live state: nothing in the workspace differs. */
async function expectNoWorkspaceDiff(f: RestoreFixture): Promise<void> {
  const doc = json<DiffDoc>(await f.cli('oc', 'snapshot', 'diff', 'latest', '--json'));
  const inWorkspace = (e: { path: string }): boolean => e.path.startsWith('workspace/') || !e.path.includes('/');
  expect({ added: doc.added.filter(inWorkspace), removed: doc.removed.filter(inWorkspace), changed: doc.changed.filter(inWorkspace) }).toEqual({ added: [], removed: [], changed: [] });
}

describe('names are bytes (issue 10 item 1)', () => {
  it('captures, restores, diffs, exports and imports names that are not UTF-8 byte-exact; --only another module leaves them in place', async () => {
    const f = (fixture = await openClawFixture('clawback-names-'));
    const workspace = path.join(f.root, 'workspace');
    const ffFe = bytes([0xff, 0xfe], '.md');
    const badDir = bytes('dir', [0xe9]);
    const inner = bytes('inner', [0x80], '.md');
    const newline = bytes('line\nbreak.md');
    fs.writeFileSync(under(workspace, ffFe), 'not UTF-8\n');
    fs.writeFileSync(under(workspace, newline), 'a newline in the name\n');
    fs.mkdirSync(under(workspace, badDir));
    fs.writeFileSync(under(workspace, badDir, inner), 'inside a directory that is not UTF-8\n');
    fs.writeFileSync(under(workspace, badDir, bytes('plain.md')), 'plain name, odd parent\n');
    fs.symlinkSync(bytes([0xff, 0xfe], '.md'), under(workspace, bytes('link', [0xfa])));
    const snapshotTree = byteTree(f.root, f.databases);
    expect(snapshotTree['workspace/\\xff\\xfe.md']).toMatch(/^file /);

    await ok(f.cli('oc', 'snapshot', 'create'));
    await ok(f.cli('oc', 'snapshot', 'verify'));

    // change: rewrite, remove the odd directory, add another odd name
    fs.writeFileSync(under(workspace, ffFe), 'rewritten\n');
    fs.rmSync(under(workspace, badDir), { recursive: true });
    fs.writeFileSync(under(workspace, bytes('added', [0xc3], '.md')), 'added after the snapshot\n');
    const diffText = await ok(f.cli('oc', 'snapshot', 'diff', 'latest'));
    expect(diffText).toContain('workspace/\\xff\\xfe.md');
    expect(diffText).not.toContain('\uFFFD');
    const diff = json<DiffDoc>(await f.cli('oc', 'snapshot', 'diff', 'latest', '--json'));
    expect(diff.changed.map((e) => e.path)).toContain('workspace/\udcff\udcfe.md');
    expect(diff.removed.map((e) => e.path)).toContain('workspace/dir\udce9/inner\udc80.md');
    expect(diff.added.map((e) => e.path)).toContain('workspace/added\udcc3.md');

    // a restore of another module leaves every odd name as it is now
    const before = byteTree(f.root, f.databases);
    await ok(f.cli('oc', 'snapshot', 'restore', 'latest', '--only', 'skills', '--yes'));
    expect(byteTree(f.root, f.databases)).toEqual(before);

    await ok(f.cli('oc', 'snapshot', 'restore', 'latest', '--yes'));
    expect(byteTree(f.root, f.databases)).toEqual(snapshotTree);
    await expectNoWorkspaceDiff(f);

    await exportImportRestore(f, snapshotTree);
  });
});

describe('characters legal on POSIX are legal (issue 10 item 3)', () => {
  it('bundles holding a backslash, a top-level c:, glob characters and a newline verify, restore, diff, export and import', async () => {
    const f = (fixture = await openClawFixture('clawback-posix-names-'));
    const workspace = path.join(f.root, 'workspace');
    fs.writeFileSync(path.join(workspace, 'a\\b.md'), 'a backslash\n');
    fs.writeFileSync(path.join(f.root, 'c:notes.md'), 'a drive letter on Windows, a name here\n');
    fs.writeFileSync(path.join(workspace, 'glob*?[.md'), 'glob characters\n');
    fs.writeFileSync(path.join(workspace, 'line\nbreak.md'), 'a newline\n');
    fs.mkdirSync(path.join(workspace, 'back\\slash dir'));
    fs.writeFileSync(path.join(workspace, 'back\\slash dir', 'x.md'), 'below a backslash\n');
    const snapshotTree = byteTree(f.root, f.databases);

    await ok(f.cli('oc', 'snapshot', 'create'));
    await ok(f.cli('oc', 'snapshot', 'create'));
    await ok(f.cli('oc', 'snapshot', 'verify', '--all'));

    fs.rmSync(path.join(workspace, 'a\\b.md'));
    fs.writeFileSync(path.join(f.root, 'c:notes.md'), 'changed\n');
    fs.rmSync(path.join(workspace, 'back\\slash dir'), { recursive: true });
    fs.writeFileSync(path.join(workspace, '[new]*.md'), 'added\n');
    const diff = json<DiffDoc>(await f.cli('oc', 'snapshot', 'diff', 'latest', '--json'));
    expect(diff.removed.map((e) => e.path)).toContain('workspace/a\\b.md');
    expect(diff.changed.map((e) => e.path)).toContain('c:notes.md');

    await ok(f.cli('oc', 'snapshot', 'restore', 'latest', '--yes'));
    expect(byteTree(f.root, f.databases)).toEqual(snapshotTree);
    await expectNoWorkspaceDiff(f);

    await exportImportRestore(f, snapshotTree);
  });
});
