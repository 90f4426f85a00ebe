import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleEntry } from '../../src/manifest/bundle-manifest.js';
import { openInventory, type BundleRecord } from '../../src/store/bundles.js';
import { sandboxRecords } from '../../src/engine/bundle/find.js';
import { flipByte, payloadPath } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

/**
 * A push's check of a large bundle makes the lstats of "restic will take this file unread" on a
 * worker thread (offsite/unread-prefetch.ts); the worker file exists only in the build, so this test
 * loads the built module. Its answers are the ones this thread's lstats give: a file replaced,
 * written in place, or written with its mtime set back is hashed, never taken unread, and a damaged
 * parent inventory vouches for nothing.
 */
const UNREAD_BUILT = '../../dist/src/engine/offsite/unread.js';
type UnreadModule = typeof import('../../src/engine/offsite/unread.js');

const SB = 'oc';
let fx: LifecycleFixture;
let parent: BundleRecord;
let bundle: BundleRecord;
const damaged: string[] = [];

/** Every payload file of `dir`, as the walk names them (sorted here: the order does not matter). */
function payloadFiles(dir: string, rel = ''): string[] {
  return fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? payloadFiles(dir, rel === '' ? d.name : `${rel}/${d.name}`) : d.isFile() ? [rel === '' ? d.name : `${rel}/${d.name}`] : []))
    .sort();
}

/** What verify asks: `skip` for each file as the walk finds it, then `keep` for each skipped one, in inventory order. */
function answers(unread: ReturnType<UnreadModule['unreadFiles']>, intact = true): Map<string, boolean> {
  if (unread === undefined) throw new Error('no unread files');
  const files = payloadFiles(bundle.payloadDir);
  const skipped = new Map<string, number>();
  files.forEach((rel, index) => {
    if (unread.skip(rel, index)) skipped.set(rel, index);
  });
  const kept = new Map<string, boolean>();
  for (const entry of openInventory(bundle.dir, bundle.header).entries() as Iterable<BundleEntry>) {
    const index = skipped.get(entry.path);
    if (entry.type === 'file') kept.set(entry.path, index !== undefined && unread.keep(entry, index));
  }
  expect(unread.settle()).toBe(intact);
  unread.close();
  return kept;
}

beforeAll(async () => {
  fx = lifecycleFixture('clawback-unread-worker-');
  const deps = testDeps(fx.home);
  registerOpenClaw(deps, SB, fx.root);
  const first = await snapshot(deps, SB);
  const second = await snapshot(deps, SB);
  const records = sandboxRecords(SB, deps);
  parent = records.find((r) => r.timestamp === first)!;
  bundle = records.find((r) => r.timestamp === second)!;
  const files = payloadFiles(bundle.payloadDir).filter((rel) => fs.statSync(path.join(bundle.payloadDir, rel)).size > 0);
  const [replaced, written, setBack] = files;
  // A copy in its place (a new inode, the same bytes).
  const replacedFile = payloadPath(fx.home, SB, second, replaced!);
  const bytes = fs.readFileSync(replacedFile);
  fs.rmSync(replacedFile);
  fs.writeFileSync(replacedFile, bytes);
  // Written in place (the inode both bundles share), its mtime now.
  flipByte(payloadPath(fx.home, SB, second, written!));
  // Written in place, its mtime set back to what it was.
  const setBackFile = payloadPath(fx.home, SB, second, setBack!);
  const before = fs.statSync(setBackFile);
  flipByte(setBackFile);
  fs.utimesSync(setBackFile, before.atime, before.mtime);
  damaged.push(replaced!, written!, setBack!);
}, 60_000);

afterAll(() => fx.cleanup());

describe("push's unread files, their lstats made on a worker", () => {
  it('gives the answers this thread gives: unchanged linked files unread, a replaced or written file hashed', async () => {
    const { unreadFiles } = (await import(UNREAD_BUILT)) as UnreadModule;
    const onThisThread = answers(unreadFiles(bundle, parent, Number.POSITIVE_INFINITY));
    const onWorker = answers(unreadFiles(bundle, parent, 0));
    expect(onWorker).toEqual(onThisThread);
    for (const rel of damaged) expect([rel, onWorker.get(rel)]).toEqual([rel, false]);
    const unread = [...onWorker].filter(([, kept]) => kept).map(([rel]) => rel);
    expect(unread.length).toBeGreaterThan(20);
    expect(unread.length).toBe(onWorker.size - damaged.length);
  });

  it("with the parent's inventory damaged: no file taken unread, and the check told so at its end (every file is then hashed)", async () => {
    const { unreadFiles } = (await import(UNREAD_BUILT)) as UnreadModule;
    const sidecar = path.join(parent.dir, parent.header!.inventory!.file);
    flipByte(sidecar, Math.floor(fs.statSync(sidecar).size / 2));
    const onThisThread = answers(unreadFiles(bundle, parent, Number.POSITIVE_INFINITY), false);
    const onWorker = answers(unreadFiles(bundle, parent, 0), false);
    expect(onWorker).toEqual(onThisThread);
    expect([...onWorker.values()].filter(Boolean)).toEqual([]);
  });
});
