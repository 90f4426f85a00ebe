import { describe, expect, it } from 'vitest';
import type { BundleEntry } from '../../src/manifest/bundle-manifest.js';
import { settlePending, tallyPlan, writeTotals, type CarryItem, type PlanItem, type RestoreItem, type RestorePlan } from '../../src/engine/restore/plan.js';
import type { WalkedUnit } from '../../src/engine/restore/plan-live.js';
import { completeTree, dropStaleCompanions } from '../../src/engine/restore/plan-tree.js';
import { holdsRestoredFile, liveIsRestored } from '../../src/engine/restore/same-file.js';

function entry(path: string, extra: Partial<BundleEntry> = {}): BundleEntry {
  return { path, type: 'file', mode: 0o644, size: 10, mtimeMs: 1000.7, sha256: 'x', module: 'core', ...extra };
}

function restore(rel: string, extra: Partial<BundleEntry> = {}): RestoreItem {
  return { kind: 'restore', rel, entry: entry(rel, extra), source: `/bundle/${rel}`, mode: 0o644 };
}

function carry(rel: string, reason: CarryItem['reason'] = 'excluded'): CarryItem {
  return { kind: 'carry', rel, live: { path: `/live/${rel}`, type: 'file', mode: 0, size: 0, mtimeMs: 0 }, reason, display: rel };
}

function walked(items: PlanItem[], liveDirModes: Array<[string, number]> = []): WalkedUnit {
  return {
    group: { dir: '/live', parts: [{ prefix: '', rel: '', keep: false, dir: '/live' }] },
    stat: undefined,
    items: new Map(items.map((i) => [i.rel, i])),
    rootMode: undefined,
    follows: new Map(),
    liveDirModes: new Map(liveDirModes),
    changes: items.flatMap((i) => (i.kind === 'carry' ? [{ path: i.display, action: 'kept' as const, reason: i.reason }] : [])),
    warnings: [],
    unlistable: [],
  };
}

describe('tallyPlan', () => {
  it('derives sorted lists, per-reason counts (a reason emptied later stays at 0), databases and merges', () => {
    const plan: RestorePlan = {
      units: [
        {
          dir: '/live',
          exists: true,
          rootMode: 0o700,
          parts: [],
          items: [
            { kind: 'dir', rel: 'db', mode: 0o755, origin: 'bundle' },
            { ...restore('db/main.sqlite', { strategy: 'sqlite_backup', size: 4 }) },
            { ...restore('config.json', { size: 6 }), merge: { kind: 'json-merge', keys: [], protected: [] }, mergeLive: '/live/config.json' },
            restore('link', { type: 'symlink', target: 'config.json', size: undefined }),
          ],
        },
      ],
      changes: [
        { path: 'z.log', action: 'kept', reason: 'machine_local' },
        { path: 'db/main.sqlite-wal', action: 'removed', reason: 'excluded' },
        { path: 'b.md', action: 'replaced' },
        { path: 'a.md', action: 'replaced' },
        { path: 'x/in-the-way', action: 'dropped', reason: 'user_managed' },
        { path: 'a.log', action: 'kept', reason: 'machine_local' },
        { path: 'new.md', action: 'added' },
      ],
      warnings: [],
    };
    const tally = tallyPlan(plan);
    expect(tally.paths).toEqual({
      replaced: ['a.md', 'b.md'],
      unchanged: [],
      pending: [],
      added: ['new.md'],
      removed: ['db/main.sqlite-wal'],
      kept: ['a.log', 'z.log'],
    });
    expect(tally.keptReasons).toEqual({ machine_local: 2, excluded: 0, user_managed: 0 });
    expect(Object.keys(tally.keptReasons)).toEqual(['machine_local', 'excluded', 'user_managed']);
    expect(tally.databases).toEqual(['db/main.sqlite']);
    expect(tally.merges).toEqual(['config.json']);
    expect(writeTotals(plan)).toEqual({ files: 2, bytes: 10 });
  });
});

describe('settlePending', () => {
  it('makes verified pending paths unchanged and the rest replaced, leaving other changes alone', () => {
    const plan: RestorePlan = {
      units: [],
      changes: [
        { path: 'a', action: 'pending' },
        { path: 'b', action: 'pending' },
        { path: 'c', action: 'removed' },
      ],
      warnings: [],
    };
    const settled = settlePending(plan, new Set(['b']));
    expect(settled.changes).toEqual([
      { path: 'a', action: 'replaced' },
      { path: 'b', action: 'unchanged' },
      { path: 'c', action: 'removed' },
    ]);
    expect(plan.changes[0]!.action).toBe('pending');
  });
});

describe('dropStaleCompanions', () => {
  it("removes a carried -wal beside a restored database, and keeps other carried files", () => {
    const unit = walked([restore('main.sqlite', { strategy: 'sqlite_backup' }), carry('main.sqlite-wal'), carry('other.log')]);
    const cleaned = dropStaleCompanions(unit);
    expect([...cleaned.items.keys()]).toEqual(['main.sqlite', 'other.log']);
    expect(cleaned.changes).toEqual([
      { path: 'main.sqlite-wal', action: 'removed', reason: 'excluded' },
      { path: 'other.log', action: 'kept', reason: 'excluded' },
    ]);
    expect(unit.items.has('main.sqlite-wal')).toBe(true);
  });
});

describe('completeTree', () => {
  it('drops a carried file in the way of restored files below it, and creates missing ancestors with the live mode', () => {
    const done = completeTree(walked([carry('notes', 'user_managed'), restore('notes/a.md'), restore('deep/er/b.md')], [['deep', 0o750]]));
    expect(done.unit.items.map((i) => `${i.kind}:${i.rel}`)).toEqual(['dir:deep', 'dir:deep/er', 'restore:deep/er/b.md', 'dir:notes', 'restore:notes/a.md']);
    expect(done.unit.items[0]).toMatchObject({ mode: 0o750, origin: 'implicit' });
    expect(done.unit.items[1]).toMatchObject({ mode: 0o700, origin: 'implicit' });
    expect(done.changes).toEqual([{ path: 'notes', action: 'dropped', reason: 'user_managed' }]);
    expect(done.warnings).toEqual(['notes is in the way of restored files below it and is not carried over (it is in the pre-restore snapshot)']);
    expect(done.unit.exists).toBe(false);
    expect(done.unit.rootMode).toBe(0o700);
  });

  it('refuses a bundle file with entries below it', () => {
    expect(() => completeTree(walked([restore('a'), restore('a/b')]))).toThrow(/bundle entry a is not a directory but has entries below it/);
  });
});

describe('the same-file rule', () => {
  const restored = { size: 10, mode: 0o600, mtimeMs: 1000.7 };

  it('matches size, permission bits and mtime to the millisecond', () => {
    expect(holdsRestoredFile({ size: 10, mode: 0o100600, mtimeMs: 1000.2 }, restored)).toBe(true);
    expect(holdsRestoredFile({ size: 11, mode: 0o100600, mtimeMs: 1000.7 }, restored)).toBe(false);
    expect(holdsRestoredFile({ size: 10, mode: 0o100644, mtimeMs: 1000.7 }, restored)).toBe(false);
    expect(holdsRestoredFile({ size: 10, mode: 0o100600, mtimeMs: 1001 }, restored)).toBe(false);
  });

  it('compares a live file with the mode the restore gives it, and a link by its target', () => {
    const secret = { ...restore('token', { mode: 0o644 }), mode: 0o600 };
    const live = { path: '/live/token', type: 'file' as const, size: 10, mtimeMs: 1000.7 };
    expect(liveIsRestored({ ...live, mode: 0o600 }, secret)).toBe(true);
    expect(liveIsRestored({ ...live, mode: 0o644 }, secret)).toBe(false);
    const link = restore('link', { type: 'symlink', target: 'a' });
    expect(liveIsRestored({ path: '/live/link', type: 'symlink', mode: 0, size: 0, mtimeMs: 0, target: 'a' }, link)).toBe(true);
    expect(liveIsRestored({ path: '/live/link', type: 'symlink', mode: 0, size: 0, mtimeMs: 0, target: 'b' }, link)).toBe(false);
    expect(liveIsRestored({ ...live, mode: 0o600 }, link)).toBe(false);
  });
});
