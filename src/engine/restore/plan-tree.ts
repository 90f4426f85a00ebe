import { UnsafeEntryPathError } from '../../errors.js';
import { SQLITE_COMPANION_SUFFIXES } from '../../sqlite/detect.js';
import type { CarryItem, KeepReason, PlanAction, PlanChange, PlanItem, PlanUnit, TreeItem } from './plan-types.js';
import type { WalkedUnit } from './plan-live.js';
import { parentOf } from './plan-paths.js';

/** Carried paths that a later step took out of the tree: their change becomes `action`. */
function retag(changes: readonly PlanChange[], carried: ReadonlyArray<Pick<CarryItem, 'display'>>, action: PlanAction): PlanChange[] {
  if (carried.length === 0) return [...changes];
  const paths = new Set(carried.map((c) => c.display));
  return changes.map((c) => (c.action === 'kept' && paths.has(c.path) ? { ...c, action } : c));
}

/** Step 3: a restored database's -wal/-shm/-journal beside it would belong to the old content: removed, not kept. */
export function dropStaleCompanions(unit: WalkedUnit): WalkedUnit {
  const stale = new Map<string, CarryItem>();
  for (const item of unit.items.values()) {
    if (item.kind !== 'restore' || item.entry.strategy !== 'sqlite_backup') continue;
    for (const suffix of SQLITE_COMPANION_SUFFIXES) {
      const companion = unit.items.get(item.rel + suffix);
      if (companion?.kind === 'carry') stale.set(item.rel + suffix, companion);
    }
  }
  // Copying the items of a large tree costs tens of ms: only when something is dropped.
  if (stale.size === 0) return unit;
  const items = new Map(unit.items);
  for (const rel of stale.keys()) items.delete(rel);
  return { ...unit, items, changes: retag(unit.changes, [...stale.values()], 'removed') };
}

/** Why a live companion of a restored config may still be rewritten: the restore does not own it, but OpenClaw reads it with the config. */
const REWRITABLE: ReadonlySet<KeepReason> = new Set(['excluded', 'unselected', 'out_of_scope', 'secret_left_out', 'not_captured']);

/**
 * Step 3b: a live `openclaw.json.last-good` or `.config-hash` the restore would carry over unchanged
 * is rewritten in line with the restored config instead (machine-local, user-managed and unreadable
 * ones stay as they are).
 */
export function followRestoredConfig(unit: WalkedUnit): WalkedUnit {
  const updates: Array<[string, CarryItem]> = [];
  for (const [rel, follows] of unit.follows) {
    const item = unit.items.get(rel);
    if (item?.kind !== 'carry' || item.live.type !== 'file' || !REWRITABLE.has(item.reason)) continue;
    updates.push([rel, { ...item, follows }]);
  }
  if (updates.length === 0) return unit;
  const items = new Map(unit.items);
  const rewritten = new Set<string>();
  for (const [rel, item] of updates) {
    items.set(rel, item);
    rewritten.add(item.display);
  }
  const changes = unit.changes.map((c) => (c.action === 'kept' && rewritten.has(c.path) ? { path: c.path, action: 'replaced' as const } : c));
  return { ...unit, items, changes };
}

export interface CompletedUnit {
  unit: PlanUnit;
  changes: PlanChange[];
  warnings: string[];
}

/**
 * Step 4: make the tree consistent: every ancestor a directory (created if
 * missing), carried entries never in the way of restored ones.
 */
export function completeTree(walked: WalkedUnit): CompletedUnit {
  // Taken over, not copied: the walked unit is not read again once its tree is complete.
  const items = walked.items;
  const warnings: string[] = [];
  const dropped: Array<CarryItem | TreeItem> = [];
  clearAncestors(items, warnings, dropped);
  const ordered = orderTree(items, walked.liveDirModes, warnings, dropped);
  return {
    unit: {
      dir: walked.group.dir,
      exists: walked.stat !== undefined,
      rootMode: walked.rootMode ?? 0o700,
      parts: walked.group.parts.map(({ prefix, rel, keep }) => ({ prefix, rel, keep })),
      items: ordered,
    },
    changes: retag(walked.changes, dropped, 'dropped'),
    warnings,
  };
}

/** Every ancestor of a restored entry must be a directory: a carried file there is not carried, a bundle file there is a damaged bundle. */
function clearAncestors(items: Map<string, PlanItem>, warnings: string[], dropped: Array<CarryItem | TreeItem>): void {
  const neededDirs = new Set<string>();
  for (const item of items.values()) {
    if (item.kind === 'carry' || item.kind === 'tree') continue;
    for (let dir = parentOf(item.rel); dir !== '' && !neededDirs.has(dir); dir = parentOf(dir)) neededDirs.add(dir);
  }
  for (const rel of neededDirs) {
    const item = items.get(rel);
    if (item?.kind === 'carry') {
      warnings.push(`${item.display} is in the way of restored files below it and is not carried over (it is in the pre-restore snapshot)`);
      dropped.push(item);
      items.delete(rel);
    } else if (item?.kind === 'restore') {
      throw new UnsafeEntryPathError(`bundle entry ${item.entry.path} is not a directory but has entries below it`);
    }
  }
}

/**
 * The items in path order, with missing ancestors created as directories right
 * before their first descendant: every directory precedes what lies below it,
 * which is all staging needs.
 */
function orderTree(items: Map<string, PlanItem>, liveDirModes: ReadonlyMap<string, number>, warnings: string[], dropped: Array<CarryItem | TreeItem>): PlanItem[] {
  const present = new Set<string>(['']);
  const ordered: PlanItem[] = [];
  for (const rel of [...items.keys()].sort()) {
    const item = items.get(rel)!;
    const parent = parentOf(rel);
    if (!present.has(parent)) {
      let blocker: PlanItem | undefined;
      const missing: string[] = [];
      for (let a = parent; !present.has(a); a = parentOf(a)) {
        blocker = items.get(a);
        if (blocker) break;
        missing.push(a);
      }
      if (blocker) {
        // Below a non-directory, or below a carried directory that was itself dropped.
        if (item.kind === 'restore' || (item.kind === 'dir' && item.origin === 'bundle')) {
          throw new UnsafeEntryPathError(`bundle entry ${rel} lies below ${blocker.rel}, which is not a directory`);
        }
        if (item.kind === 'carry' || item.kind === 'tree') {
          const displays = item.kind === 'tree' ? item.tree.fileDisplays(item.display) : [item.display];
          for (const display of displays) warnings.push(`${display} lies below ${blocker.rel}, which is not a directory in the restored tree; not carried over (it is in the pre-restore snapshot)`);
          dropped.push(item);
        }
        items.delete(rel);
        continue;
      }
      for (const a of missing.reverse()) {
        const implicit: PlanItem = { kind: 'dir', rel: a, mode: liveDirModes.get(a) ?? 0o700, origin: 'implicit' };
        items.set(a, implicit);
        ordered.push(implicit);
        present.add(a);
      }
    }
    if (item.kind === 'dir') present.add(rel);
    ordered.push(item);
  }
  return ordered;
}
