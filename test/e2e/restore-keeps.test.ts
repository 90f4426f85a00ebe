import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { clawbackAsNobody, NOBODY, switchUserUnavailable } from '../helpers/os-user.js';
import { openClawFixture, restoreLeftovers, type RestoreFixture } from '../helpers/restore.js';
import { treeDigest } from '../helpers/tree.js';

/**
 * A restore never deletes what the snapshot could not see (issue 10, item 2): paths the bundle lists
 * as skipped (a socket, an unreadable file) and live files nothing can read are kept, and said to be.
 */

interface RestoreDoc {
  restore: { counts: Record<string, number>; keptReasons: Record<string, number>; paths: Record<string, string[]>; warnings: string[] };
}
interface DiffDoc {
  added: unknown[];
  removed: unknown[];
  changed: unknown[];
}

/** Databases by content: a restore writes them through the backup API, which changes bytes but no rows. */
const digestOf = (root: string): Record<string, string> => treeDigest(root, { databasesByContent: true });

/** A bound Unix socket at `file`; closing the server would unlink it, so it stays open until the test ends. */
async function listenOn(file: string): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return server;
}

describe('a socket the snapshot skipped', () => {
  let f: RestoreFixture;
  let server: net.Server;
  beforeAll(async () => {
    f = await openClawFixture('clawback-keeps-socket-');
  });
  afterAll(() => {
    server?.close();
    f?.cleanup();
  });

  it('survives create → change → restore, and diff afterwards shows nothing', async () => {
    const socket = path.join(f.root, 'workspace/agent.sock');
    server = await listenOn(socket);
    const created = await f.cli('oc', 'snapshot', 'create', '--json');
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const atSnapshot = digestOf(f.root);
    expect(atSnapshot['workspace/agent.sock']).toMatch(/^special /);

    fs.writeFileSync(path.join(f.root, 'workspace/SOUL.md'), 'changed after the snapshot\n');
    fs.rmSync(path.join(f.root, 'workspace/USER.md'));
    fs.writeFileSync(path.join(f.root, 'workspace/NEW.md'), 'added after the snapshot\n');

    const restored = await f.cli('oc', 'snapshot', 'restore', 'v1', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<RestoreDoc>(restored).restore;
    // The live databases' -wal/-shm go with the old content; what was added since goes too.
    const dbs = new Set(f.databases.map((d) => path.relative(f.root, d)));
    expect(doc.paths.removed.filter((p) => !dbs.has(p.replace(/-(wal|shm)$/, '')))).toEqual(['workspace/NEW.md']);
    expect(doc.keptReasons.not_captured).toBe(1);
    expect(fs.lstatSync(socket).isSocket()).toBe(true);
    expect(digestOf(f.root)).toEqual(atSnapshot);
    expect(restoreLeftovers(f.root)).toEqual([]);

    const diff = await f.cli('oc', 'snapshot', 'diff', 'v1', '--json');
    expect(diff.exitCode, String(diff.stderr)).toBe(0);
    const d = json<DiffDoc>(diff);
    // A database restored through the backup API holds the same rows in other bytes; diff compares bytes (see the branch notes).
    const changed = d.changed.filter((c) => !dbs.has((c as { path: string }).path));
    expect({ added: d.added, removed: d.removed, changed }).toEqual({ added: [], removed: [], changed: [] });
  });
});

const noSwitch = switchUserUnavailable();

describe.skipIf(noSwitch !== undefined)('files the snapshot could not read (run as nobody)', () => {
  let base: string;
  let home: string;
  let root: string;
  /** The databases, by path in the root: a restore brings each back through the backup API, with its -wal/-shm. */
  let isDatabase: (rel: string) => boolean;
  const asNobody = (...args: string[]): ReturnType<typeof clawbackAsNobody> => clawbackAsNobody(home, args, base);

  beforeAll(async () => {
    base = tempDir('clawback-keeps-unreadable-');
    fs.chmodSync(base, 0o755);
    home = path.join(base, 'home');
    const generated = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') });
    root = generated.root;
    const dbs = new Set(generated.databases.map((d) => path.relative(root, d)));
    isDatabase = (rel) => dbs.has(rel.replace(/-(wal|shm)$/, ''));
    expect((await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root])).exitCode).toBe(0);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, base]);
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('are kept by a full restore, and the pre-restore snapshot names what it could not save', async () => {
    const locked = path.join(root, 'workspace/private.md');
    fs.writeFileSync(locked, 'only its owner may read this, once it chmods it back\n');
    fs.chownSync(locked, NOBODY, NOBODY);
    fs.chmodSync(locked, 0o000);
    const created = await asNobody('oc', 'snapshot', 'create');
    expect(created.exitCode, String(created.stderr)).toBe(3);
    expect(String(created.stderr)).toContain('workspace/private.md');
    const atSnapshot = digestOf(root);

    fs.writeFileSync(path.join(root, 'workspace/SOUL.md'), 'changed after the snapshot\n');
    // Added since the snapshot, and unreadable: no snapshot (not the pre-restore one either) can save it.
    const lockedLater = path.join(root, 'workspace/later.md');
    fs.writeFileSync(lockedLater, 'written after the snapshot, then locked\n');
    fs.chownSync(lockedLater, NOBODY, NOBODY);
    fs.chmodSync(lockedLater, 0o000);
    const expected = { ...atSnapshot, 'workspace/later.md': digestOf(root)['workspace/later.md']! };

    const restored = await asNobody('oc', 'snapshot', 'restore', 'v1', '--yes', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<RestoreDoc>(restored).restore;
    expect(doc.paths.removed.filter((p) => !isDatabase(p))).toEqual([]);
    expect(doc.paths.replaced.filter((p) => !isDatabase(p))).toEqual(['workspace/SOUL.md']);
    expect(doc.keptReasons).toMatchObject({ not_captured: 1, unreadable: 1 });
    expect(doc.warnings.join('\n')).toMatch(/pre-restore snapshot could not save 2 unreadable path\(s\): .*workspace\/later\.md/);
    expect(digestOf(root)).toEqual(expected);
    expect(fs.readFileSync(locked, 'utf8')).toBe('only its owner may read this, once it chmods it back\n');
    expect(restoreLeftovers(root)).toEqual([]);
  });
});

describe.skipIf(noSwitch !== undefined)('live paths the restore cannot carry over (item 10, run as nobody)', () => {
  let base: string;
  let home: string;
  let root: string;
  const asNobody = (...args: string[]): ReturnType<typeof clawbackAsNobody> => clawbackAsNobody(home, args, base);
  const everything = (): Record<string, string> => treeDigest(root, { times: true });

  beforeAll(async () => {
    base = tempDir('clawback-keeps-foreign-');
    fs.chmodSync(base, 0o755);
    home = path.join(base, 'home');
    root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') }).root;
    expect((await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root])).exitCode).toBe(0);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, base]);
    const created = await asNobody('oc', 'snapshot', 'create');
    expect(created.exitCode, String(created.stderr)).toBe(0);
    fs.writeFileSync(path.join(root, 'workspace/SOUL.md'), 'changed after the snapshot\n');
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('an unreadable live directory is reported and kept; nothing changes', async () => {
    const locked = path.join(root, 'workspace/locked');
    fs.mkdirSync(locked);
    fs.writeFileSync(path.join(locked, 'inside.md'), 'cannot be listed by nobody\n');
    fs.chmodSync(locked, 0o700);
    const before = everything();
    try {
      const result = await asNobody('oc', 'snapshot', 'restore', 'v1', '--yes');
      expect(String(result.stderr)).not.toContain('internal error');
      expect(result.exitCode, String(result.stderr)).toBe(5);
      expect(String(result.stderr)).toContain(`cannot be read (${locked}); nothing was changed`);
      expect(everything()).toEqual(before);
      expect(restoreLeftovers(root)).toEqual([]);
    } finally {
      fs.rmSync(locked, { recursive: true });
    }
  });

  it('a root-owned 0600 file that --only would carry over is reported and kept; nothing changes', async () => {
    const foreign = path.join(root, 'workspace/root-only.md');
    fs.writeFileSync(foreign, 'belongs to root\n', { mode: 0o600 });
    const before = everything();
    try {
      const result = await asNobody('oc', 'snapshot', 'restore', 'v1', '--only', 'skills', '--yes');
      expect(String(result.stderr)).not.toContain('internal error');
      expect(result.exitCode, String(result.stderr)).toBe(5);
      expect(String(result.stderr)).toContain(`cannot be carried over (${foreign}); nothing was changed`);
      expect(everything()).toEqual(before);
      expect(restoreLeftovers(root)).toEqual([]);
    } finally {
      fs.rmSync(foreign);
    }
  });
});
