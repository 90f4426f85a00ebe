import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteSnapshots } from '../../src/engine/retention/delete.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { cacheSpaceDigest, spaceCacheDir, spaceFromInodes, spaceFromManifests, type SpaceUsage } from '../../src/engine/bundle/space.js';
import { listSnapshotsWithSpace } from '../../src/engine/inspect/list.js';
import { serializeBundleManifest } from '../../src/manifest/bundle-manifest.js';
import { listBundles, readBundleManifest } from '../../src/store/bundles.js';
import { sandboxDir } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

const SB = 'oc';
let fx: LifecycleFixture;
let deps: EngineDeps;

function usage(method: 'manifests' | 'inodes'): { unique: Record<string, number>; bytes: number } {
  const dir = sandboxDir(fx.home, SB);
  const records = listBundles(dir);
  const space: SpaceUsage = method === 'manifests' ? spaceFromManifests(records, spaceCacheDir(dir)) : spaceFromInodes(records);
  return { unique: Object.fromEntries(space.uniqueBytes), bytes: space.bytes };
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

describe('space accounting from the manifests', () => {
  it('agrees with counting inodes through edits, new files and deletes', async () => {
    await snapshot(deps, SB);
    fs.appendFileSync(live('workspace/SOUL.md'), 'x'.repeat(1000));
    const second = await snapshot(deps, SB);
    fs.writeFileSync(live('workspace/NEW.md'), 'y'.repeat(5000));
    fs.rmSync(live('cron/jobs.json'));
    await snapshot(deps, SB);
    await snapshot(deps, SB);
    const all = usage('inodes');
    expect(usage('manifests')).toEqual(all);
    expect(Object.values(all.unique).some((n) => n > 0)).toBe(true);

    deleteSnapshots({ sandbox: SB, selectors: [second] }, deps);
    expect(usage('manifests')).toEqual(usage('inodes'));
  });

  it('starts a fresh chain at an imported bundle, whose files are copies', async () => {
    await snapshot(deps, SB);
    const second = await snapshot(deps, SB);
    const dir = path.join(sandboxDir(fx.home, SB), second);
    // What import does: every payload file written anew, and the origin recorded.
    const rewrite = (current: string): void => {
      for (const dirent of fs.readdirSync(current, { withFileTypes: true })) {
        const full = path.join(current, dirent.name);
        if (dirent.isDirectory()) rewrite(full);
        else if (dirent.isFile()) {
          const data = fs.readFileSync(full);
          fs.rmSync(full);
          fs.writeFileSync(full, data);
        }
      }
    };
    rewrite(path.join(dir, 'payload'));
    const file = path.join(dir, 'rebuild-manifest.json');
    // Written back with its entries inline (the form bundles had before the sidecar, still read).
    const manifest = readBundleManifest(dir);
    manifest.origin = { format: 'clawback-tar', id: 'test' };
    fs.writeFileSync(file, serializeBundleManifest(manifest));
    expect(usage('manifests')).toEqual(usage('inodes'));
  });

  it('caches a digest per bundle, survives a garbled cache file, and notices a replaced manifest', async () => {
    const first = await snapshot(deps, SB);
    const second = await snapshot(deps, SB);
    const expected = usage('manifests');
    const cache = spaceCacheDir(sandboxDir(fx.home, SB));
    // One digest per bundle, beside the list caches of headers and of the space result (store/header-cache.ts).
    expect(fs.readdirSync(cache).sort()).toEqual([`${first}.bin`, `${second}.bin`, 'headers.json', 'summary.json']);

    // What create can cache right after publishing is the same digest list computes.
    const computed = fs.readFileSync(path.join(cache, `${second}.bin`));
    fs.rmSync(path.join(cache, `${second}.bin`));
    cacheSpaceDigest(sandboxDir(fx.home, SB), second, readBundleManifest(path.join(sandboxDir(fx.home, SB), second)).entries);
    expect(fs.readFileSync(path.join(cache, `${second}.bin`)).equals(computed)).toBe(true);

    fs.writeFileSync(path.join(cache, `${first}.bin`), 'garbage');
    // The space result cached while no manifest changed needs no digest; once that is garbled too, the digest is computed again.
    expect(usage('manifests')).toEqual(expected);
    fs.writeFileSync(path.join(cache, 'summary.json'), '{"garbled');
    expect(usage('manifests')).toEqual(expected);
    expect(fs.statSync(path.join(cache, `${first}.bin`)).size).toBeGreaterThan(48);

    // A manifest replaced in place (new inode): its digest is recomputed, not trusted.
    const file = path.join(sandboxDir(fx.home, SB), second, 'rebuild-manifest.json');
    const manifest = readBundleManifest(path.dirname(file));
    const soul = manifest.entries.find((e) => e.path === 'workspace/SOUL.md')!;
    soul.ino = (soul.ino ?? 0) + 1;
    fs.writeFileSync(`${file}.new`, serializeBundleManifest(manifest));
    fs.renameSync(`${file}.new`, file);
    const after = usage('manifests');
    expect(after.unique[second]).toBe(expected.unique[second]! + soul.size!);
  });

  it('lists each bundle with its unique bytes and a disk-use total in both modes', async () => {
    const first = await snapshot(deps, SB);
    fs.writeFileSync(live('workspace/BIG.md'), 'z'.repeat(20_000));
    const second = await snapshot(deps, SB);
    fs.mkdirSync(path.join(sandboxDir(fx.home, SB), '2020-01-01T00-00-00-000Z.partial', 'payload'), { recursive: true });
    fs.writeFileSync(path.join(sandboxDir(fx.home, SB), '2020-01-01T00-00-00-000Z.partial', 'payload', 'half'), 'h'.repeat(300));

    const quick = await listSnapshotsWithSpace(SB, deps);
    const exact = await listSnapshotsWithSpace(SB, deps, { exact: true });
    expect(quick.diskUsage.uncounted).toEqual(['2020-01-01T00-00-00-000Z.partial']);
    expect(exact.diskUsage.uncounted).toEqual([]);
    expect(exact.diskUsage.bytes).toBe(quick.diskUsage.bytes + 300);
    expect(quick.snapshots.map((s) => [s.id, s.uniqueBytes])).toEqual([
      ['2020-01-01T00-00-00-000Z.partial', null],
      [first, exact.snapshots[1]!.uniqueBytes],
      [second, exact.snapshots[2]!.uniqueBytes],
    ]);
    expect(quick.snapshots[2]!.uniqueBytes).toBeGreaterThanOrEqual(20_000);
  });
});
