import path from 'node:path';
import type { Selection } from '../sandbox/selection.js';
import type { KeepReason, LiveInfo, PlanChange, RestoreItem } from './plan-types.js';
import type { ClassCache, UnitDraft } from './plan-bundle.js';
import type { LiveType, LiveView } from './live-view.js';
import { joinRel, parentOf, stripPrefix, under } from './plan-paths.js';
import { CarriedTree } from './carried-tree.js';
import { liveIsRestored } from './same-file.js';

export interface WalkContext {
  selection: Selection;
  statLive: boolean;
  live: LiveView;
  /** Every mount prefix but the root's. */
  allPrefixes: readonly string[];
  classes: ClassCache;
  /** Payload paths the bundle could not hold (its skipped list); a live path at or below one is kept, never removed. */
  notCaptured: (payload: string) => boolean;
  /** Carry a directory with nothing planned at or below it as one TreeItem (PlanInput.compactCarry). */
  compact: boolean;
}

/** A unit once its live tree is walked: every live entry replaced, removed or carried over. */
export interface WalkedUnit extends UnitDraft {
  /** Modes of in-scope live directories, for ancestors the plan has to create. */
  liveDirModes: Map<string, number>;
  changes: PlanChange[];
  warnings: string[];
  /** Live directories that cannot be listed: the restored tree could not carry what they hold. */
  unlistable: string[];
}

function readChildren(live: LiveView, dir: string, unlistable: string[]): Array<{ name: string; type: LiveType }> {
  const children = live.children(dir);
  if (children === undefined) unlistable.push(dir);
  return children ?? [];
}

/** Mode, size and mtime only when asked for (0 otherwise): a carried-over file needs none of them. */
function liveInfo(live: LiveView, abs: string, type: LiveType, withStat: boolean): LiveInfo {
  const info: LiveInfo = { path: abs, type, mode: 0, size: 0, mtimeMs: 0 };
  if (withStat) {
    const stat = live.lstat(abs);
    if (stat) {
      info.mode = stat.mode;
      info.size = stat.size;
      info.mtimeMs = stat.mtimeMs;
    }
  }
  if (type === 'symlink') info.target = live.linkTarget(abs);
  return info;
}

/**
 * Step 2: the live tree. Only directories and in-scope files are stat'ed: a
 * carried-over file is hard-linked, so its metadata travels with it.
 */
export function walkLiveTree(draft: UnitDraft, context: WalkContext): WalkedUnit {
  // The draft's items are taken over, not copied: nothing reads the draft once its live tree is walked.
  const unit: WalkedUnit = { ...draft, items: draft.items, liveDirModes: new Map(), changes: [], warnings: [], unlistable: [] };
  if (!unit.stat) return unit;
  unit.rootMode ??= unit.stat.mode & 0o7777;
  const walk = new LiveWalk(unit, context, context.compact ? plannedDirs(unit) : undefined);
  for (const child of readChildren(context.live, unit.group.dir, unit.unlistable)) walk.visit(path.join(unit.group.dir, child.name), child.name, child.type);
  return unit;
}

/** Every rel the bundle's items and followers of the unit lie at or below: a carried directory elsewhere holds nothing of the plan. */
function plannedDirs(unit: UnitDraft): Set<string> {
  const dirs = new Set<string>();
  for (const rel of [...unit.items.keys(), ...unit.follows.keys()]) {
    for (let p = rel; p !== '' && !dirs.has(p); p = parentOf(p)) dirs.add(p);
  }
  return dirs;
}

class LiveWalk {
  constructor(
    private readonly unit: WalkedUnit,
    private readonly context: WalkContext,
    /** Set when compacting: the rels a carried directory must not be at or above to become a TreeItem. */
    private readonly planned: ReadonlySet<string> | undefined,
  ) {}

  private get live(): LiveView {
    return this.context.live;
  }

  visit(abs: string, rel: string, type: LiveType): void {
    const part = this.unit.group.parts.find((p) => under(rel, p.rel))!;
    if (part.keep) return this.carryTree(abs, rel, type, 'other_mount', abs);
    const payload = joinRel(part.prefix, stripPrefix(rel, part.rel));
    if (this.context.allPrefixes.some((q) => q !== part.prefix && under(q, part.prefix) && under(payload, q))) {
      // This payload path belongs to a mount that lives elsewhere; what sits here was never captured.
      return this.carryTree(abs, rel, type, 'shadowed', abs);
    }
    const { selection, classes } = this.context;
    const cached = classes.get(payload);
    const cls = cached && cached.isDir === (type === 'dir') ? cached.cls : selection.classify(payload, type === 'dir');
    if (cls.kind === 'excluded' || cls.kind === 'machine_local') return this.carryTree(abs, rel, type, cls.kind, payload);
    if (cls.kind !== 'in_scope') this.carry(rel, liveInfo(this.live, abs, type, type === 'dir'), cls.kind, payload);
    else if (type !== 'dir' && selection.isUserManaged(payload)) this.carry(rel, liveInfo(this.live, abs, type, false), 'user_managed', payload);
    else if (type === 'special' || this.context.notCaptured(payload)) return this.carryTree(abs, rel, type, 'not_captured', payload);
    else if (type === 'file' && !this.live.readable(abs)) this.keepUnreadable(rel, abs, payload);
    else this.inScope(abs, rel, type, payload);
    if (type === 'dir') for (const child of readChildren(this.live, abs, this.unit.unlistable)) this.visit(`${abs}/${child.name}`, joinRel(rel, child.name), child.type);
  }

  private inScope(abs: string, rel: string, type: LiveType, payload: string): void {
    const item = this.unit.items.get(rel);
    if (type === 'dir') this.unit.liveDirModes.set(rel, liveInfo(this.live, abs, type, true).mode);
    else if (item?.kind === 'restore') this.compare(abs, type, payload, item);
    else this.unit.changes.push({ path: payload, action: item?.kind === 'dir' ? 'replaced' : 'removed' });
  }

  /** A live file where the bundle has one: pending for the hash worker, or (a dry run, a database, a merge, a link) compared here. */
  private compare(abs: string, type: LiveType, payload: string, item: RestoreItem): void {
    const plainFile = type === 'file' && item.entry.type === 'file' && item.entry.strategy !== 'sqlite_backup' && !item.merge && !item.follows;
    if (plainFile && !this.context.statLive) {
      // The hash worker compares size, mode and mtime as it opens the file; no lstat here. The item is
      // this plan's own (placeBundleEntries made it), so it is marked in place rather than copied, and
      // the change shares the entry's path string: tens of thousands of each on a large home.
      item.linkCandidate = abs;
      this.unit.changes.push({ path: payload === item.entry.path ? item.entry.path : payload, action: 'pending' });
      return;
    }
    const same = liveIsRestored(liveInfo(this.live, abs, type, type === 'file'), item);
    this.unit.changes.push({ path: payload, action: same ? 'unchanged' : 'replaced' });
    if (item.merge && type === 'file') this.unit.items.set(item.rel, { ...item, mergeLive: abs });
  }

  /** A live file the restore would remove or overwrite, which nothing can save first: kept as it is. */
  private keepUnreadable(rel: string, abs: string, payload: string): void {
    this.carry(rel, liveInfo(this.live, abs, 'file', false), 'unreadable', payload);
    this.unit.warnings.push(`${payload} cannot be read, so no snapshot can save it; the restore keeps it as it is`);
  }

  private carry(rel: string, info: LiveInfo, reason: KeepReason, display: string): void {
    const { items, warnings } = this.unit;
    const existing = items.get(rel);
    if (info.type === 'dir') {
      if (!existing) items.set(rel, { kind: 'dir', rel, mode: info.mode, origin: 'live' });
      else if (existing.kind !== 'dir') warnings.push(`${display} is a directory here but not in the snapshot; the snapshot's entry wins`);
      return;
    }
    if (existing && !(existing.kind === 'restore' && (reason === 'user_managed' || reason === 'unreadable'))) {
      warnings.push(`${display} (${reason}) is in the way of the snapshot's entry at the same path; the snapshot's entry wins`);
      return;
    }
    items.set(rel, { kind: 'carry', rel, live: info, reason, display });
    this.unit.changes.push({ path: display, action: 'kept', reason });
  }

  private carryTree(abs: string, rel: string, type: LiveType, reason: KeepReason, display: string): void {
    if (type === 'dir' && this.planned !== undefined && !this.planned.has(rel) && !this.unit.items.has(rel)) {
      const tree = CarriedTree.walk(this.live, abs, display, this.unit.unlistable);
      this.unit.items.set(rel, { kind: 'tree', rel, live: abs, reason, display, tree });
      // One change for the whole tree, where its first path would have been (keptReasons keep the walk's order).
      if (tree.files > 0) this.unit.changes.push({ path: display, action: 'kept', reason, tree });
      return;
    }
    this.carry(rel, liveInfo(this.live, abs, type, type === 'dir'), reason, display);
    if (type !== 'dir') return;
    for (const child of readChildren(this.live, abs, this.unit.unlistable)) this.carryTree(`${abs}/${child.name}`, joinRel(rel, child.name), child.type, reason, joinRel(display, child.name));
  }
}

