import { RefusedError } from '../../errors.js';
import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import { placeBundleEntries } from './plan-bundle.js';
import { walkLiveTree, type WalkedUnit } from './plan-live.js';
import { completeTree, dropStaleCompanions, followRestoredConfig } from './plan-tree.js';
import { parentOf } from './plan-paths.js';
import { groupUnits, openUnits } from './plan-units.js';
import type { KeepReason, PlanAction, PlanChange, PlanInput, PlanUnit, RestoreItem, RestorePlan } from './plan-types.js';

export type * from './plan-types.js';

/**
 * Decides, without writing anything, what the restored tree of every affected
 * directory holds: bundle entries in scope, live entries carried over, and
 * the live entries in scope that the bundle lacks (removed).
 */
export function planRestore(input: PlanInput): RestorePlan {
  const { units: walked, warnings: walkWarnings } = walkUnits(input);
  const completed = walked.map((unit) => completeTree(followRestoredConfig(dropStaleCompanions(unit))));
  // Every unit is taken over by the completed ones (plan-tree.ts): let go of the walked ones.
  walked.length = 0;
  const units = completed.map((c) => c.unit);
  const changes = completed.flatMap((c) => c.changes);
  const added = addedChanges(units, changes);
  for (const change of added) changes.push(change);
  return { units, changes, warnings: [...walkWarnings, ...completed.flatMap((c) => c.warnings)] };
}

/**
 * Steps 1 and 2, in a function of their own so that what only they need (the classification
 * cache, the drafts) is garbage once they return rather than held to the end of planning.
 */
function walkUnits(input: PlanInput): { units: WalkedUnit[]; warnings: string[] } {
  const { mounts } = input;
  const drafts = placeBundleEntries(input, openUnits(groupUnits(mounts, input.home, input.live), input.live));
  const walkContext = {
    selection: input.selection,
    statLive: input.statLive,
    live: input.live,
    allPrefixes: mounts.map((m) => m.prefix).filter((p) => p !== ''),
    notCaptured: notCapturedBy(input.bundle),
    compact: input.compactCarry === true,
    classes: drafts.classes,
  };
  const units = drafts.units.map((unit) => walkLiveTree(unit, walkContext));
  refuseUnlistable(units.flatMap((w) => w.unlistable));
  return { units, warnings: units.flatMap((w) => w.warnings) };
}

/**
 * The bundle's skipped paths (unreadable, sockets, vanished…): the snapshot never saw what is
 * there, so a live path at or below one is not "added since" and is kept. A database's companions
 * are the exception: the database carries their content, and a restored one makes them stale.
 */
function notCapturedBy(bundle: BundleManifest): (payload: string) => boolean {
  const skipped = new Set(bundle.skipped.filter((s) => !s.reason.startsWith('sqlite companion')).map((s) => s.path));
  if (skipped.size === 0) return () => false;
  return (payload) => {
    for (let p = payload; p !== ''; p = parentOf(p)) if (skipped.has(p)) return true;
    return skipped.has('');
  };
}

/** A directory the restore cannot list holds things it could neither carry over nor save: refused before anything changes. */
function refuseUnlistable(dirs: readonly string[]): void {
  if (dirs.length === 0) return;
  throw new RefusedError('unreadable-live', `cannot restore: ${dirs.length} live director${dirs.length === 1 ? 'y' : 'ies'} cannot be read (${dirs[0]}); nothing was changed`, {
    hint: 'a restore keeps what it cannot see only if it can carry it over: make them readable (chmod u+rx), or restore as their owner',
    details: dirs.slice(0, 20),
  });
}

/** The restored files no live path corresponds to. */
function addedChanges(units: readonly PlanUnit[], changes: readonly PlanChange[]): PlanChange[] {
  const live = new Set(changes.filter((c) => c.action === 'replaced' || c.action === 'unchanged' || c.action === 'pending').map((c) => c.path));
  return restoreItems(units)
    .filter((item) => !live.has(item.entry.path))
    .map((item) => ({ path: item.entry.path, action: 'added' as const }));
}

export function restoreItems(units: readonly PlanUnit[]): RestoreItem[] {
  // A loop, not flatMap: a one-element array per item, tens of thousands at a time, was garbage that lived long enough to be promoted.
  const items: RestoreItem[] = [];
  for (const unit of units) for (const item of unit.items) if (item.kind === 'restore') items.push(item);
  return items;
}

/** The hash worker's answer: pending paths whose live file holds the snapshot's bytes are unchanged, the rest replaced. */
export function settlePending(plan: RestorePlan, verified: ReadonlySet<string>): RestorePlan {
  const settle = (c: PlanChange): PlanChange => (c.action === 'pending' ? { ...c, action: verified.has(c.path) ? 'unchanged' : 'replaced' } : c);
  return { ...plan, changes: plan.changes.map(settle) };
}

/** What the restore writes, for progress totals. */
export function writeTotals(plan: RestorePlan): { files: number; bytes: number } {
  const files = restoreItems(plan.units).filter((i) => i.entry.type === 'file');
  return { files: files.length, bytes: files.reduce((sum, i) => sum + (i.entry.size ?? 0), 0) };
}

export type ListedAction = Exclude<PlanAction, 'dropped'>;

export interface PlanTally {
  /** Sorted; for `kept`, a carried tree's paths are only its first few (counts has them all). */
  paths: Record<ListedAction, string[]>;
  counts: Record<ListedAction, number>;
  /** Per reason carried over; a reason whose paths were all removed or dropped later stays, at 0. */
  keptReasons: Partial<Record<KeepReason, number>>;
  databases: string[];
  merges: string[];
}

/** Every list and count of a plan, derived from its changes and units in this one place. */
export function tallyPlan(plan: RestorePlan): PlanTally {
  const paths: Record<ListedAction, string[]> = { replaced: [], unchanged: [], pending: [], added: [], removed: [], kept: [] };
  const keptReasons: Partial<Record<KeepReason, number>> = {};
  // A carried tree's change stands for all its paths; only its first few are listed.
  const trees = { files: 0, first: [] as string[] };
  for (const change of plan.changes) {
    const n = change.tree?.files ?? 1;
    if (change.action !== 'dropped' && change.tree === undefined) paths[change.action].push(change.path);
    else if (change.action !== 'dropped' && change.tree !== undefined) {
      trees.files += n;
      trees.first.push(...change.tree.first);
    }
    if (change.reason !== undefined) keptReasons[change.reason] = (keptReasons[change.reason] ?? 0) + (change.action === 'kept' ? n : 0);
  }
  const counts = Object.fromEntries(Object.entries(paths).map(([action, list]) => [action, list.length])) as Record<ListedAction, number>;
  counts.kept += trees.files;
  paths.kept.push(...trees.first);
  for (const list of Object.values(paths)) list.sort();
  const files = restoreItems(plan.units).filter((i) => i.entry.type === 'file');
  return {
    paths,
    counts,
    keptReasons,
    databases: files.filter((i) => i.entry.strategy === 'sqlite_backup').map((i) => i.entry.path).sort(),
    merges: files.filter((i) => i.merge && i.mergeLive).map((i) => i.entry.path).sort(),
  };
}
