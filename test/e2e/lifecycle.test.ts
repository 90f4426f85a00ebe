import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clawback, json } from '../helpers/cli.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { bundleIds, flipByte, manifestJson, payloadPath, sandboxDir, sha256File, unlinkedPayloadFiles } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';
import { treeDigest } from '../helpers/tree.js';

interface VerifyDoc {
  ok: boolean;
  bundles: Array<{ id: string; timestamp: string; ok: boolean; files: number; bytes: number; problems: Array<{ path: string; problem: string }> }>;
}
interface ListDoc {
  snapshots: Array<{ id: string; version: number | null; bytes: number | null; uniqueBytes: number | null }>;
  diskUsage: { bytes: number; files: number; totalBytes: number; method: string; uncounted: string[] };
}
interface DiffDoc {
  added: Array<{ path: string }>;
  removed: Array<{ path: string }>;
  changed: Array<{ path: string; changes: string[] }>;
}
interface ManifestFile {
  totals: { files: number; bytes: number };
  entries: Array<{ path: string; type: string; size?: number; strategy?: string }>;
}

let fx: LifecycleFixture;
let deps: EngineDeps;
const SB = 'oc';

/** Setup snapshots are taken in-process; the commands under test run as the built binary. */
function create(): Promise<string> {
  return snapshot(deps, SB);
}

function manifestOf(id: string): ManifestFile {
  return manifestJson(path.join(sandboxDir(fx.home, SB), id)) as unknown as ManifestFile;
}

function live(rel: string): string {
  return path.join(fx.root, ...rel.split('/'));
}

beforeEach(() => {
  fx = lifecycleFixture();
  deps = testDeps(fx.home);
  registerOpenClaw(deps, SB, fx.root);
});

afterEach(() => fx.cleanup());

describe('snapshot verify', () => {
  it('passes a clean bundle untouched (exit 0); a flipped byte is exit 6 naming the file; --all counts a .partial as damage', async () => {
    const first = await create();
    const second = await create();
    const dir = path.join(sandboxDir(fx.home, SB), second);
    const before = treeDigest(dir, { times: true });
    const clean = await clawback(fx.home, [SB, 'snapshot', 'verify', '--json']);
    expect(clean.exitCode, String(clean.stderr)).toBe(0);
    const manifest = manifestOf(second);
    expect(json<VerifyDoc>(clean)).toMatchObject({
      ok: true,
      bundles: [{ timestamp: second, ok: true, files: manifest.totals.files, bytes: manifest.totals.bytes, problems: [] }],
    });
    // quick_check of the database copy ran read-only: no -wal/-shm/-journal appeared, no byte or mtime moved.
    expect(manifest.entries.some((e) => e.strategy === 'sqlite_backup')).toBe(true);
    expect(treeDigest(dir, { times: true })).toEqual(before);

    flipByte(payloadPath(fx.home, SB, second, 'workspace/SOUL.md'), 10);
    const damaged = await clawback(fx.home, [SB, 'snapshot', 'verify', second, '--json']);
    expect(damaged.exitCode).toBe(6);
    const doc = json<VerifyDoc>(damaged);
    expect(doc.ok).toBe(false);
    expect(doc.bundles[0]!.problems).toEqual([{ path: 'workspace/SOUL.md', problem: expect.stringMatching(/^content differs/) }]);
    expect(JSON.parse(String(damaged.stderr))).toMatchObject({ code: 'verify-failed', exitCode: 6 });

    const text = await clawback(fx.home, [SB, 'snapshot', 'verify', 'latest']);
    expect(text.exitCode).toBe(6);
    expect(String(text.stdout)).toContain('workspace/SOUL.md: content differs');

    // The file is hard-linked into the first bundle too, so both are damaged.
    fs.mkdirSync(path.join(sandboxDir(fx.home, SB), '2020-01-01T00-00-00-000Z.partial'));
    const all = await clawback(fx.home, [SB, 'snapshot', 'verify', '--all', '--json']);
    expect(all.exitCode).toBe(6);
    expect(json<VerifyDoc>(all).bundles.map((b) => [b.id, b.ok, b.problems.map((p) => p.path)])).toEqual([
      ['2020-01-01T00-00-00-000Z.partial', false, ['']],
      [first, false, ['workspace/SOUL.md']],
      [second, false, ['workspace/SOUL.md']],
    ]);
  });
});

describe('snapshot delete', () => {
  it('deletes a bundle that shares hard links with a later one; the later one still verifies with the right bytes', async () => {
    const first = await create();
    const second = await create();
    const shared = payloadPath(fx.home, SB, second, 'workspace/SOUL.md');
    expect(fs.statSync(shared).ino).toBe(fs.statSync(payloadPath(fx.home, SB, first, 'workspace/SOUL.md')).ino);

    const result = await clawback(fx.home, [SB, 'snapshot', 'delete', 'v1', '--yes', '--json']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(json<{ deleted: Array<{ id: string }> }>(result).deleted.map((d) => d.id)).toEqual([first]);
    expect(fs.readdirSync(sandboxDir(fx.home, SB)).filter((n) => n !== '.space-cache')).toEqual([second]);

    const verified = await clawback(fx.home, [SB, 'snapshot', 'verify', second]);
    expect(verified.exitCode, `${String(verified.stdout)}${String(verified.stderr)}`).toBe(0);
    expect(fs.statSync(shared).nlink).toBe(1);
    const files = manifestOf(second).entries.filter((e) => e.type === 'file' && e.strategy !== 'sqlite_backup');
    expect(files.length).toBeGreaterThan(20);
    for (const entry of files) expect(sha256File(payloadPath(fx.home, SB, second, entry.path)), entry.path).toBe(sha256File(live(entry.path)));
  });

  it('refuses without --yes when there is no TTY (exit 5), deletes nothing on one unknown selector (exit 4), removes a .partial by name', async () => {
    const id = await create();
    const refused = await clawback(fx.home, [SB, 'snapshot', 'delete', 'latest', '--json']);
    expect(refused.exitCode).toBe(5);
    expect(JSON.parse(String(refused.stderr))).toMatchObject({ code: 'confirmation-missing', hint: 'pass --yes' });
    const typo = await clawback(fx.home, [SB, 'snapshot', 'delete', 'latest', 'v9', '--yes']);
    expect(typo.exitCode).toBe(4);
    expect(bundleIds(fx.home, SB)).toEqual([id]);

    const partial = '2020-01-01T00-00-00-000Z.partial';
    fs.mkdirSync(path.join(sandboxDir(fx.home, SB), partial, 'payload'), { recursive: true });
    const removed = await clawback(fx.home, [SB, 'snapshot', 'delete', partial, '--yes']);
    expect(removed.exitCode, String(removed.stderr)).toBe(0);
    expect(bundleIds(fx.home, SB)).toEqual([id]);
  });

  it('a delete killed right after its rename leaves no half bundle listed; the next delete finishes it', async () => {
    const first = await create();
    const second = await create();
    const killed = await clawback(fx.home, [SB, 'snapshot', 'delete', first, '--yes'], { env: { CLAWBACK_TEST_FAULT: 'delete:after-rename' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(bundleIds(fx.home, SB)).toEqual([second]);
    expect(fs.readdirSync(sandboxDir(fx.home, SB)).filter((n) => n.startsWith('.deleting-'))).toEqual([`.deleting-${first}`]);
    const listed = json<ListDoc>(await clawback(fx.home, [SB, 'snapshot', 'list', '--json']));
    expect(listed.snapshots.map((s) => s.id)).toEqual([second]);

    const next = await clawback(fx.home, [SB, 'snapshot', 'delete', second, '--yes']);
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(fs.readdirSync(sandboxDir(fx.home, SB)).filter((n) => n !== '.space-cache')).toEqual([]);
  });
});

describe('snapshot diff', () => {
  it('shows exactly the added, removed and changed paths against the live state, and the same between two snapshots', async () => {
    const first = await create();
    fs.appendFileSync(live('workspace/SOUL.md'), '\nchanged after the snapshot\n');
    fs.writeFileSync(live('workspace/NEW.md'), 'a new note\n');
    fs.rmSync(live('workspace/USER.md'));
    fs.chmodSync(live('canvas/index.html'), 0o600);
    const notes = live('workspace/current-notes');
    expect(fs.lstatSync(notes).isSymbolicLink()).toBe(true);
    fs.rmSync(notes);
    fs.symlinkSync('MEMORY.md', notes);
    // Same bytes, new mtime: hashed, and not a change.
    const memory = live('workspace/MEMORY.md');
    fs.utimesSync(memory, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    // Excluded paths never show.
    fs.mkdirSync(live('browser/Default/Cache/Cache_Data'), { recursive: true });
    fs.writeFileSync(live('browser/Default/Cache/Cache_Data/f_new'), 'cache');
    fs.writeFileSync(live('logs/new.log'), 'log');
    const db = new Database(fx.sample.databases.find((d) => d.endsWith(path.join('memory', 'main.sqlite')))!);
    db.exec('CREATE TABLE diff_marker (x); INSERT INTO diff_marker VALUES (1);');
    db.close();

    const expected = {
      added: ['workspace/NEW.md'],
      removed: ['workspace/USER.md'],
      changed: [
        ['canvas/index.html', ['mode']],
        ['memory/main.sqlite', ['content']],
        ['workspace/SOUL.md', ['content']],
        ['workspace/current-notes', ['target']],
      ],
    };
    const shape = (doc: DiffDoc) => ({
      added: doc.added.map((i) => i.path),
      removed: doc.removed.map((i) => i.path),
      changed: doc.changed.map((i) => [i.path, i.changes]),
    });

    const result = await clawback(fx.home, [SB, 'snapshot', 'diff', first, '--json']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(shape(json<DiffDoc>(result))).toEqual(expected);

    const text = await clawback(fx.home, [SB, 'snapshot', 'diff', first]);
    expect(String(text.stdout)).toMatch(/^\+ workspace\/NEW\.md {2}\(11 B\)$/m);
    expect(String(text.stdout)).toMatch(/^- workspace\/USER\.md /m);
    expect(String(text.stdout)).toMatch(/^U canvas\/index\.html {2}\(mode 644 → 600\)$/m);

    const second = await create();
    const between = await clawback(fx.home, [SB, 'snapshot', 'diff', first, second, '--json']);
    expect(between.exitCode, String(between.stderr)).toBe(0);
    expect(shape(json<DiffDoc>(between))).toEqual(expected);
  });
});

describe('snapshot prune', () => {
  it('refuses an empty policy (exit 2); --keep-last 2 --dry-run changes nothing; without --dry-run exactly the two newest remain', async () => {
    const ids = [await create(), await create(), await create(), await create()];
    const empty = await clawback(fx.home, [SB, 'snapshot', 'prune', '--keep-name', 'release-*']);
    expect(empty.exitCode).toBe(2);
    expect(String(empty.stderr)).toContain('no policy given');
    const before = treeDigest(sandboxDir(fx.home, SB), { times: true, skip: (rel) => rel.startsWith('.space-cache') });

    const dry = await clawback(fx.home, [SB, 'snapshot', 'prune', '--keep-last', '2', '--dry-run', '--json']);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const plan = json<{ dryRun: boolean; removed: number; decisions: Array<{ id: string; keep: boolean; reasons: string[] }> }>(dry);
    expect(plan.dryRun).toBe(true);
    expect(plan.decisions.map((d) => [d.id, d.keep, d.reasons])).toEqual([
      [ids[3], true, ['last 2']],
      [ids[2], true, ['last 2']],
      [ids[1], false, ['kept by no rule']],
      [ids[0], false, ['kept by no rule']],
    ]);
    expect(treeDigest(sandboxDir(fx.home, SB), { times: true, skip: (rel) => rel.startsWith('.space-cache') })).toEqual(before);

    const real = await clawback(fx.home, [SB, 'snapshot', 'prune', '--keep-last', '2']);
    expect(real.exitCode, String(real.stderr)).toBe(0);
    expect(String(real.stdout)).toMatch(/kept 2, removed 2 snapshot\(s\)/);
    expect(bundleIds(fx.home, SB)).toEqual([ids[2], ids[3]]);
    expect((await clawback(fx.home, [SB, 'snapshot', 'verify', '--all'])).exitCode).toBe(0);
  });
});

describe('snapshot list space accounting', () => {
  it('shows unique bytes and the real disk use: an unchanged re-snapshot holds nothing of its own, a changed database only its new copy', async () => {
    const first = await create();
    const second = await create();
    const total = (id: string): number => manifestOf(id).totals.bytes;
    const dbSize = (id: string): number => manifestOf(id).entries.find((e) => e.path === 'memory/main.sqlite')!.size!;

    const listed = await clawback(fx.home, [SB, 'snapshot', 'list', '--json']);
    expect(listed.exitCode, String(listed.stderr)).toBe(0);
    const doc = json<ListDoc>(listed);
    expect(doc.snapshots.map((s) => [s.id, s.uniqueBytes])).toEqual([
      [first, 0],
      [second, 0],
    ]);
    expect(doc.diskUsage).toEqual({ bytes: total(first), files: manifestOf(first).totals.files, totalBytes: total(first) + total(second), method: 'manifests', uncounted: [] });

    // --wide: the disk-use line whole, not wrapped to 80 columns.
    const text = await clawback(fx.home, [SB, 'snapshot', 'list', '--wide']);
    expect(String(text.stdout)).toMatch(/^Version .* Unique +Complete$/m);
    expect(String(text.stdout)).toMatch(/^2 snapshot\(s\): .* on disk in \d+ files \(shared files counted once; .* without sharing\)$/m);

    // A write to the database: the next snapshot copies it again, and links everything else.
    const db = new Database(fx.sample.databases.find((d) => d.endsWith(path.join('memory', 'main.sqlite')))!);
    db.exec('CREATE TABLE written_later (x); INSERT INTO written_later VALUES (1);');
    db.close();
    const third = await create();
    expect([...unlinkedPayloadFiles(path.join(sandboxDir(fx.home, SB), third)).keys()]).toEqual(['memory/main.sqlite']);
    const after = json<ListDoc>(await clawback(fx.home, [SB, 'snapshot', 'list', '--json']));
    expect(after.snapshots.map((s) => [s.id, s.uniqueBytes])).toEqual([
      [first, 0],
      [second, 0],
      [third, dbSize(third)],
    ]);
    expect(after.diskUsage.bytes).toBe(total(first) + dbSize(third));

    const exact = json<ListDoc>(await clawback(fx.home, [SB, 'snapshot', 'list', '--exact', '--json']));
    expect(exact.snapshots.map((s) => s.uniqueBytes)).toEqual(after.snapshots.map((s) => s.uniqueBytes));
    expect(exact.diskUsage).toMatchObject({ bytes: after.diskUsage.bytes, method: 'inodes' });
  });
});
