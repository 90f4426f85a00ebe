import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawback, json } from '../helpers/cli.js';
import { sandboxDir } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { invoke as invokeIn } from '../helpers/in-process.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

interface ListDoc {
  snapshots: Array<{ id: string; version: number | null; name: string | null; state: string; uniqueBytes: number | null; problem: string | null }>;
  diskUsage: { bytes: number; files: number; totalBytes: number; method: string; uncounted: string[] };
}

const SB = 'oc';
let fx: LifecycleFixture;
let ids: string[];

const cacheDir = (): string => path.join(sandboxDir(fx.home, SB), '.space-cache');
const manifest = (id: string): string => path.join(sandboxDir(fx.home, SB), id, 'rebuild-manifest.json');

async function list(): Promise<ListDoc> {
  const result = await clawback(fx.home, [SB, 'snapshot', 'list', '--json']);
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return json<ListDoc>(result);
}

/** The list with the caches as they are, which must be the list read from the bundles alone. */
async function warmEqualsCold(): Promise<ListDoc> {
  const warm = await list();
  fs.rmSync(path.join(cacheDir(), 'headers.json'), { force: true });
  fs.rmSync(path.join(cacheDir(), 'summary.json'), { force: true });
  expect(warm).toEqual(await list());
  return warm;
}

/** A whole second, which utimes sets exactly (a file's own mtime has nanoseconds it cannot give back). */
const SET_TIME = new Date('2026-01-01T00:00:00Z');

/** Rewrites a manifest in place (same inode, same size) and sets its times back: only its ctime tells. */
function editInPlace(file: string, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const before = fs.statSync(file);
  expect(before.mtimeMs).toBe(SET_TIME.getTime());
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain(from);
  fs.writeFileSync(file, text.replace(from, to));
  fs.utimesSync(file, SET_TIME, SET_TIME);
  const after = fs.statSync(file);
  expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs]);
}

const invoke = (args: string[], commander: 'always' | undefined): ReturnType<typeof invokeIn> => invokeIn(fx.home, args, commander);

beforeAll(async () => {
  fx = lifecycleFixture('clawback-list-cache-');
  const deps = testDeps(fx.home);
  registerOpenClaw(deps, SB, fx.root);
  ids = [await snapshot(deps, SB), await snapshot(deps, SB), await snapshot(deps, SB)];
});

afterAll(() => fx.cleanup());

describe('snapshot list through its per-sandbox caches', () => {
  it('reads the cached headers and space while the manifests are the files they were read from', async () => {
    const first = await list();
    expect(first.snapshots.map((s) => [s.id, s.version, s.name])).toEqual(ids.map((id, i) => [id, i + 1, null]));
    expect(fs.existsSync(path.join(cacheDir(), 'headers.json'))).toBe(true);
    expect(fs.existsSync(path.join(cacheDir(), 'summary.json'))).toBe(true);
    // What the cache says is what list shows: a header planted in it for an unchanged manifest is believed.
    const file = path.join(cacheDir(), 'headers.json');
    const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as { values: unknown[]; bundles: Record<string, Array<string | number>> };
    const row = cached.bundles[ids[0]!]!;
    row[row.indexOf('name') + 1] = cached.values.push('planted') - 1;
    fs.writeFileSync(file, JSON.stringify(cached));
    expect((await list()).snapshots.map((s) => s.name)).toEqual(['planted', null, null]);
    fs.rmSync(file);
  });

  it('sees a manifest edited in place with its times set back, a deleted bundle, a new one and a damaged one', async () => {
    fs.utimesSync(manifest(ids[1]!), SET_TIME, SET_TIME);
    await list();
    editInPlace(manifest(ids[1]!), '"name": null', '"name": "ab"');
    expect((await warmEqualsCold()).snapshots.map((s) => s.name)).toEqual([null, 'ab', null]);

    fs.rmSync(path.join(sandboxDir(fx.home, SB), ids[0]!), { recursive: true });
    const afterDelete = await warmEqualsCold();
    expect(afterDelete.snapshots.map((s) => [s.id, s.version])).toEqual([
      [ids[1], 1],
      [ids[2], 2],
    ]);

    const added = await snapshot(testDeps(fx.home), SB);
    expect((await warmEqualsCold()).snapshots.map((s) => s.id)).toEqual([ids[1], ids[2], added]);

    await list();
    fs.writeFileSync(manifest(ids[2]!), '{"version": 1');
    const damaged = await warmEqualsCold();
    expect(damaged.snapshots.map((s) => s.state)).toEqual(['complete', 'corrupt', 'complete']);
    expect(damaged.diskUsage.uncounted).toEqual([ids[2]]);
  });

  it('a plain list, answered without commander, prints what commander parsing the same args prints', async () => {
    const cases = [
      [SB, 'snapshot', 'list'],
      [SB, 'snapshot', 'list', '--json'],
      [SB, 'snapshot', 'list', '--wide', '--exact'],
      [SB, 'snapshot', 'list', '--json', '--exact', '--verbose'],
      [SB, 'snapshot', 'list', '-q'],
      [SB, 'snapshot', 'list', '--quiet', '--json'],
      ['nosuch', 'snapshot', 'list'],
      ['nosuch', 'snapshot', 'list', '--json'],
    ];
    for (const args of cases) {
      const plain = await invoke(args, undefined);
      expect([args, plain]).toEqual([args, await invoke(args, 'always')]);
    }
    expect((await invoke([SB, 'snapshot', 'list', '--json'], undefined)).stdout).toContain('"corrupt"');
  });
});
