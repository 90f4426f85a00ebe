import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../src/engine/deps.js';
import { pruneSnapshots } from '../../src/engine/retention/prune.js';
import { verifySnapshots } from '../../src/engine/verify/verify.js';
import { bundleTimestamp } from '../../src/store/home.js';
import { bundleIds, sandboxDir } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

const SB = 'oc';
let fx: LifecycleFixture;
let clock: { now: Date };
let deps: EngineDeps;

/** Real bundles at chosen instants: the clock decides each bundle's timestamp. */
async function snapshotsAt(isos: Array<string | [string, string]>): Promise<void> {
  for (const item of isos) {
    const [iso, label] = typeof item === 'string' ? [item, undefined] : item;
    clock.now = new Date(iso);
    await snapshot(deps, SB, label);
  }
}

function id(iso: string): string {
  return bundleTimestamp(new Date(iso));
}

beforeEach(() => {
  fx = lifecycleFixture();
  clock = { now: new Date() };
  deps = testDeps(fx.home, { clock });
  registerOpenClaw(deps, SB, fx.root);
});

afterEach(() => fx.cleanup());

describe('pruneSnapshots on real bundles', () => {
  it('keeps the newest of each day and the labelled ones, removes the rest and every .partial, and what stays verifies', async () => {
    await snapshotsAt([
      '2026-04-20T08:00:00Z',
      ['2026-04-20T20:00:00Z', 'before-upgrade'],
      '2026-04-21T08:00:00Z',
      '2026-04-21T20:00:00Z',
      ['2026-04-22T08:00:00Z', 'pre-restore-2026-04-22T08-00-00-000Z'],
      '2026-04-22T09:00:00Z',
    ]);
    fs.mkdirSync(path.join(sandboxDir(fx.home, SB), `${id('2026-04-22T10:00:00Z')}.partial`));
    clock.now = new Date('2026-04-22T12:00:00Z');

    const plan = pruneSnapshots({ sandbox: SB, policy: { keepDaily: 2, keepName: ['before-*'] }, dryRun: true, timeZone: 'UTC' }, deps);
    expect(plan.decisions.map((d) => [d.id, d.keep, d.reasons])).toEqual([
      [`${id('2026-04-22T10:00:00Z')}.partial`, false, ['incomplete (.partial)']],
      [id('2026-04-22T09:00:00Z'), true, ['daily 2026-04-22']],
      [id('2026-04-22T08:00:00Z'), false, ['kept by no rule']],
      [id('2026-04-21T20:00:00Z'), true, ['daily 2026-04-21']],
      [id('2026-04-21T08:00:00Z'), false, ['kept by no rule']],
      [id('2026-04-20T20:00:00Z'), true, ['label matches before-*']],
      [id('2026-04-20T08:00:00Z'), false, ['kept by no rule']],
    ]);
    expect(bundleIds(fx.home, SB)).toHaveLength(7);

    const done = pruneSnapshots({ sandbox: SB, policy: { keepDaily: 2, keepName: ['before-*'] }, dryRun: false, timeZone: 'UTC' }, deps);
    expect(done.removed).toBe(4);
    expect(bundleIds(fx.home, SB)).toEqual([id('2026-04-20T20:00:00Z'), id('2026-04-21T20:00:00Z'), id('2026-04-22T09:00:00Z')]);
    expect(fs.readdirSync(sandboxDir(fx.home, SB)).filter((n) => n.startsWith('.deleting-'))).toEqual([]);
    expect((await verifySnapshots({ sandbox: SB, all: true }, deps)).ok).toBe(true);
  });

  it('counts days in the given time zone', async () => {
    // 02:00Z and 06:00Z are one UTC day, but 22:00 and 02:00 on two days in New York (EDT, UTC-4).
    await snapshotsAt(['2026-04-22T02:00:00Z', '2026-04-22T06:00:00Z']);
    clock.now = new Date('2026-04-22T12:00:00Z');
    const kept = (timeZone: string): string[] =>
      pruneSnapshots({ sandbox: SB, policy: { keepDaily: 5 }, dryRun: true, timeZone }, deps)
        .decisions.filter((d) => d.keep)
        .map((d) => d.id);
    expect(kept('UTC')).toEqual([id('2026-04-22T06:00:00Z')]);
    expect(kept('America/New_York')).toEqual([id('2026-04-22T06:00:00Z'), id('2026-04-22T02:00:00Z')]);
  });

  it('--older-than removes what is older, never a corrupt bundle, and reports the freed bytes', async () => {
    await snapshotsAt(['2026-03-01T00:00:00Z']);
    fs.writeFileSync(path.join(fx.root, 'workspace', 'OLD-ONLY.md'), 'o'.repeat(10_000));
    await snapshotsAt(['2026-03-02T00:00:00Z']);
    fs.rmSync(path.join(fx.root, 'workspace', 'OLD-ONLY.md'));
    await snapshotsAt(['2026-04-21T00:00:00Z']);
    const corrupt = path.join(sandboxDir(fx.home, SB), id('2026-01-01T00:00:00Z'));
    fs.mkdirSync(corrupt);
    fs.writeFileSync(path.join(corrupt, 'rebuild-manifest.json'), '{"version": 99}');
    clock.now = new Date('2026-04-22T00:00:00Z');

    const summary = pruneSnapshots({ sandbox: SB, policy: { olderThanMs: 30 * 24 * 3600 * 1000 }, dryRun: false }, deps);
    expect(summary.decisions.map((d) => [d.id, d.keep])).toEqual([
      [id('2026-04-21T00:00:00Z'), true],
      [id('2026-03-02T00:00:00Z'), false],
      [id('2026-03-01T00:00:00Z'), false],
      [id('2026-01-01T00:00:00Z'), true],
    ]);
    expect(summary.decisions[3]!.reasons[0]).toMatch(/^unreadable manifest/);
    // The two old bundles alone held OLD-ONLY.md and the older database copies.
    expect(summary.freedBytes).toBeGreaterThanOrEqual(10_000);
    expect(bundleIds(fx.home, SB)).toEqual([id('2026-01-01T00:00:00Z'), id('2026-04-21T00:00:00Z')]);
  });

  it('refuses an empty policy before touching anything', () => {
    expect(() => pruneSnapshots({ sandbox: SB, policy: { keepName: ['x'] }, dryRun: false }, deps)).toThrow(/no policy given/);
  });
});
