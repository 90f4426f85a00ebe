import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { RefusedError, UnsafeEntryPathError } from '../../errors.js';
import { linkStaysInside } from '../../fs-safety/safe-path.js';
import type { AgentManifest, MergeRule } from '../../manifest/agent-manifest.js';
import type { BundleEntry, BundleManifest } from '../../manifest/bundle-manifest.js';
import { SQLITE_COMPANION_SUFFIXES } from '../../sqlite/detect.js';
import type { PathClass, Selection } from '../sandbox/selection.js';
import type { MappedMount } from './mounts.js';

/** Why a live path is carried over into the restored tree instead of being replaced. */
export type KeepReason = 'excluded' | 'machine_local' | 'unselected' | 'out_of_scope' | 'secret_left_out' | 'user_managed' | 'other_mount' | 'shadowed';

export interface LiveInfo {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'special';
  mode: number;
  size: number;
  mtimeMs: number;
  target?: string;
}

export type PlanItem =
  /** A directory of the restored tree (from the bundle, carried over, or needed as an ancestor). */
  | { kind: 'dir'; rel: string; mode: number; origin: 'bundle' | 'live' | 'implicit' }
  /** A live file, symlink or special file carried over unchanged (hard-linked when staged). */
  | { kind: 'carry'; rel: string; live: LiveInfo; reason: KeepReason; display: string }
  /** A bundle file or symlink written into the restored tree. */
  | {
      kind: 'restore';
      rel: string;
      entry: BundleEntry;
      source: string;
      mode: number;
      merge?: MergeRule;
      mergeLive?: string;
      /** The live file at this path: linked instead of copied if its size, mode, mtime and sha256 match the manifest. */
      linkCandidate?: string;
    };

interface UnitPart {
  prefix: string;
  /** Where the mount sits inside the unit ('' = the unit dir itself). */
  rel: string;
  /** A current mount the bundle does not have: left untouched. */
  keep: boolean;
}

/** One directory swapped as a whole. Mounts nested inside it (a QwenPaw workspace inside the working dir) are part of it. */
export interface PlanUnit {
  dir: string;
  exists: boolean;
  rootMode: number;
  parts: UnitPart[];
  items: PlanItem[];
}

export interface RestorePlan {
  units: PlanUnit[];
  /** Payload paths (or absolute paths outside any mount) per category; files and symlinks only. */
  replaced: string[];
  unchanged: string[];
  /** In-scope live files the hash worker sorts into unchanged (linked) or replaced (copied). */
  pending: string[];
  added: string[];
  removed: string[];
  kept: string[];
  keptReasons: Partial<Record<KeepReason, number>>;
  databases: string[];
  merges: string[];
  filesToWrite: number;
  bytesToWrite: number;
  warnings: string[];
}

export interface PlanInput {
  bundle: BundleManifest;
  payloadDir: string;
  mounts: MappedMount[];
  selection: Selection;
  agentManifest: AgentManifest;
  /** clawback's home: a restore must never swap the directory holding it. */
  home: string;
  /**
   * Stat in-scope live files to sort them into replaced and unchanged (a dry
   * run). A restore leaves that to the hash worker, which opens them anyway:
   * they go to `pending` and become link candidates.
   */
  statLive: boolean;
}

const MAX_LISTED = 20;

function joinRel(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}

function under(p: string, dir: string): boolean {
  return dir === '' || p === dir || p.startsWith(dir + '/');
}

function stripPrefix(p: string, prefix: string): string {
  return prefix === '' ? p : p === prefix ? '' : p.slice(prefix.length + 1);
}

/** realpath of the longest existing ancestor, so a root reached through a symlink is swapped where it really lives. */
function realpathLoose(p: string): string {
  const missing: string[] = [];
  let current = path.resolve(p);
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...missing.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = path.dirname(current);
      if (parent === current) return path.join(current, ...missing.reverse());
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function toPosixRel(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/');
}

function typeOf(dirent: fs.Dirent): LiveInfo['type'] {
  return dirent.isDirectory() ? 'dir' : dirent.isSymbolicLink() ? 'symlink' : dirent.isFile() ? 'file' : 'special';
}

function readChildren(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Mode, size and mtime only when asked for (0 otherwise): a carried-over file needs none of them. */
function liveInfo(abs: string, type: LiveInfo['type'], withStat: boolean): LiveInfo {
  const info: LiveInfo = { path: abs, type, mode: 0, size: 0, mtimeMs: 0 };
  if (withStat) {
    const stat = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (stat) {
      info.mode = stat.mode & 0o7777;
      info.size = stat.size;
      info.mtimeMs = stat.mtimeMs;
    }
  }
  if (type === 'symlink') info.target = fs.readlinkSync(abs);
  return info;
}

function groupUnits(mounts: MappedMount[], home: string): Array<{ dir: string; parts: Array<UnitPart & { dir: string }> }> {
  const resolved = mounts.map((m) => ({ ...m, dir: realpathLoose(m.dir) }));
  const heads = resolved.filter((m) => m.inBundle).sort((a, b) => a.dir.length - b.dir.length);
  const units: Array<{ dir: string; parts: Array<UnitPart & { dir: string }> }> = [];
  for (const mount of heads) {
    if (path.dirname(mount.dir) === mount.dir) throw new RefusedError('unsafe-target', `refusing to restore over the filesystem root (${mount.dir})`);
    const clash = resolved.find((m) => m !== mount && m.inBundle && m.dir === mount.dir);
    if (clash) throw new RefusedError('mount-clash', `the payload prefixes ${JSON.stringify(mount.prefix)} and ${JSON.stringify(clash.prefix)} both map to ${mount.dir}`);
    if (isInside(home, mount.dir)) {
      throw new RefusedError('unsafe-target', `refusing to restore ${mount.dir}: it contains clawback's home ${home}`, { hint: 'keep CLAWBACK_HOME outside the agent state' });
    }
    const unit = units.find((u) => isInside(mount.dir, u.dir));
    if (unit) unit.parts.push({ prefix: mount.prefix, rel: toPosixRel(unit.dir, mount.dir), keep: false, dir: mount.dir });
    else units.push({ dir: mount.dir, parts: [{ prefix: mount.prefix, rel: '', keep: false, dir: mount.dir }] });
  }
  for (const mount of resolved) {
    if (mount.inBundle) continue;
    const unit = units.find((u) => isInside(mount.dir, u.dir) && mount.dir !== u.dir);
    if (unit) unit.parts.push({ prefix: mount.prefix, rel: toPosixRel(unit.dir, mount.dir), keep: true, dir: mount.dir });
  }
  // Deepest first, so the first part a path falls under is the one it belongs to.
  for (const unit of units) unit.parts.sort((a, b) => b.rel.length - a.rel.length);
  return units;
}

function restoreMode(entry: BundleEntry, secret: boolean): number {
  if (secret) return entry.type === 'dir' ? 0o700 : 0o600;
  const fallback = entry.type === 'dir' ? 0o755 : 0o644;
  return (entry.mode ?? fallback) & 0o777;
}

function sameAsBundle(live: LiveInfo, entry: BundleEntry): boolean {
  if (entry.type === 'symlink') return live.type === 'symlink' && live.target === entry.target;
  if (entry.type !== 'file' || live.type !== 'file') return false;
  return live.size === entry.size && (live.mode & 0o777) === ((entry.mode ?? -1) & 0o777) && Math.trunc(live.mtimeMs) === Math.trunc(entry.mtimeMs ?? -1);
}

/**
 * Decides, without writing anything, what the restored tree of every affected
 * directory holds: bundle entries in scope, live entries carried over, and
 * the live entries in scope that the bundle lacks (removed).
 */
export function planRestore(input: PlanInput): RestorePlan {
  const { bundle, selection, mounts } = input;
  const plan: RestorePlan = {
    units: [],
    replaced: [],
    unchanged: [],
    pending: [],
    added: [],
    removed: [],
    kept: [],
    keptReasons: {},
    databases: [],
    merges: [],
    filesToWrite: 0,
    bytesToWrite: 0,
    warnings: [],
  };
  const allowLink = input.agentManifest.allowLinks.length > 0 ? picomatch(input.agentManifest.allowLinks, { dot: true }) : () => false;
  const mergeRules = new Map(input.agentManifest.stateFiles.filter((f) => f.merge).map((f) => [f.path, f.merge!]));
  const bundlePrefixes = mounts.filter((m) => m.inBundle).map((m) => m.prefix).sort((a, b) => b.length - a.length);
  const allPrefixes = mounts.map((m) => m.prefix).filter((p) => p !== '');
  const groups = groupUnits(mounts, input.home);
  const unsafeLinks: string[] = [];

  const units = groups.map((group) => {
    const stat = fs.lstatSync(group.dir, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) throw new RefusedError('not-a-directory', `${group.dir} exists and is not a directory`);
    return { group, stat, items: new Map<string, PlanItem>(), liveDirModes: new Map<string, number>(), rootMode: undefined as number | undefined };
  });
  const unitOfPrefix = new Map<string, { unit: (typeof units)[number]; rel: string }>();
  for (const unit of units) for (const part of unit.group.parts) if (!part.keep) unitOfPrefix.set(part.prefix, { unit, rel: part.rel });

  // 1. The bundle's entries in scope.
  const classes = new Map<string, { cls: PathClass; isDir: boolean }>();
  for (const entry of bundle.entries) {
    const prefix = bundlePrefixes.find((p) => under(entry.path, p)) ?? '';
    const place = unitOfPrefix.get(prefix);
    if (!place) continue;
    const rel = joinRel(place.rel, stripPrefix(entry.path, prefix));
    const cls = selection.classify(entry.path, entry.type === 'dir');
    classes.set(entry.path, { cls, isDir: entry.type === 'dir' });
    if (cls.kind !== 'in_scope') continue;
    const secret = selection.isSecretModule(cls.module);
    if (rel === '') {
      if (entry.type === 'dir') place.unit.rootMode = restoreMode(entry, secret);
      continue;
    }
    if (entry.type === 'symlink') {
      const inside = stripPrefix(entry.path, prefix);
      if (!linkStaysInside(inside, entry.target ?? '') && !allowLink(entry.path)) unsafeLinks.push(`${entry.path} -> ${entry.target}`);
    }
    const item: PlanItem =
      entry.type === 'dir'
        ? { kind: 'dir', rel, mode: restoreMode(entry, secret), origin: 'bundle' }
        : // Entry paths were checked by parseBundleManifest (normalised, relative, no '..'), so a plain join stays inside.
          { kind: 'restore', rel, entry, source: `${input.payloadDir}/${entry.path}`, mode: restoreMode(entry, secret) };
    if (item.kind === 'restore' && entry.type === 'file') {
      const rule = prefix === '' ? mergeRules.get(entry.path) : undefined;
      if (rule) item.merge = rule;
    }
    place.unit.items.set(rel, item);
  }
  if (unsafeLinks.length > 0) {
    throw new RefusedError('unsafe-links', `the bundle holds ${unsafeLinks.length} symlink(s) that are absolute or leave their root`, {
      hint: 'allowlist them with allow_links in the agent manifest if they are intended',
      details: unsafeLinks.slice(0, MAX_LISTED),
    });
  }

  // 2. The live tree: every entry is replaced, removed or carried over. Only directories and
  // in-scope files are stat'ed: a carried-over file is hard-linked, so its metadata travels with it.
  const restoredPaths = new Set<string>();
  for (const unit of units) {
    const items = unit.items;
    const carry = (rel: string, info: LiveInfo, reason: KeepReason, display: string): void => {
      const existing = items.get(rel);
      if (info.type === 'dir') {
        if (!existing) items.set(rel, { kind: 'dir', rel, mode: info.mode, origin: 'live' });
        else if (existing.kind !== 'dir') plan.warnings.push(`${display} is a directory here but not in the snapshot; the snapshot's entry wins`);
        return;
      }
      if (existing && !(existing.kind === 'restore' && reason === 'user_managed')) {
        plan.warnings.push(`${display} (${reason}) is in the way of the snapshot's entry at the same path; the snapshot's entry wins`);
        return;
      }
      items.set(rel, { kind: 'carry', rel, live: info, reason, display });
      plan.kept.push(display);
      plan.keptReasons[reason] = (plan.keptReasons[reason] ?? 0) + 1;
    };
    const carryTree = (abs: string, rel: string, type: LiveInfo['type'], reason: KeepReason, display: string): void => {
      carry(rel, liveInfo(abs, type, type === 'dir'), reason, display);
      if (type !== 'dir') return;
      for (const child of readChildren(abs)) carryTree(`${abs}/${child.name}`, joinRel(rel, child.name), typeOf(child), reason, joinRel(display, child.name));
    };
    const visit = (abs: string, rel: string, type: LiveInfo['type']): void => {
      const part = unit.group.parts.find((p) => under(rel, p.rel))!;
      if (part.keep) {
        carryTree(abs, rel, type, 'other_mount', abs);
        return;
      }
      const payload = joinRel(part.prefix, stripPrefix(rel, part.rel));
      if (allPrefixes.some((q) => q !== part.prefix && under(q, part.prefix) && under(payload, q))) {
        // This payload path belongs to a mount that lives elsewhere; what sits here was never captured.
        carryTree(abs, rel, type, 'shadowed', abs);
        return;
      }
      const cached = classes.get(payload);
      const cls = cached && cached.isDir === (type === 'dir') ? cached.cls : selection.classify(payload, type === 'dir');
      if (cls.kind === 'excluded' || cls.kind === 'machine_local') {
        carryTree(abs, rel, type, cls.kind, payload);
        return;
      }
      if (cls.kind !== 'in_scope') {
        carry(rel, liveInfo(abs, type, type === 'dir'), cls.kind, payload);
      } else if (type !== 'dir' && selection.isUserManaged(payload)) {
        carry(rel, liveInfo(abs, type, false), 'user_managed', payload);
      } else {
        const item = unit.items.get(rel);
        if (type === 'dir') {
          unit.liveDirModes.set(rel, liveInfo(abs, type, true).mode);
        } else if (item?.kind === 'restore') {
          restoredPaths.add(payload);
          const plainFile = type === 'file' && item.entry.type === 'file' && item.entry.strategy !== 'sqlite_backup' && !item.merge;
          if (plainFile && !input.statLive) {
            // The hash worker compares size, mode and mtime as it opens the file; no lstat here.
            item.linkCandidate = abs;
            plan.pending.push(payload);
          } else {
            const info = liveInfo(abs, type, type === 'file');
            const same = sameAsBundle(info, item.entry);
            (same ? plan.unchanged : plan.replaced).push(payload);
            if (item.merge && type === 'file') item.mergeLive = abs;
          }
        } else if (item?.kind === 'dir') {
          plan.replaced.push(payload);
        } else {
          plan.removed.push(payload);
        }
      }
      if (type === 'dir') for (const child of readChildren(abs)) visit(`${abs}/${child.name}`, joinRel(rel, child.name), typeOf(child));
    };
    if (unit.stat) {
      unit.rootMode ??= unit.stat.mode & 0o7777;
      for (const child of readChildren(unit.group.dir)) visit(path.join(unit.group.dir, child.name), child.name, typeOf(child));
    }
  }

  // 3. A restored database's -wal/-shm/-journal beside it would belong to the old content.
  for (const unit of units) {
    for (const item of [...unit.items.values()]) {
      if (item.kind !== 'restore' || item.entry.strategy !== 'sqlite_backup') continue;
      for (const suffix of SQLITE_COMPANION_SUFFIXES) {
        const companion = unit.items.get(item.rel + suffix);
        if (companion?.kind !== 'carry') continue;
        unit.items.delete(item.rel + suffix);
        plan.kept.splice(plan.kept.indexOf(companion.display), 1);
        plan.keptReasons[companion.reason]! -= 1;
        plan.removed.push(companion.display);
      }
    }
  }

  // 4. Make the tree consistent: every ancestor a directory, carried entries never in the way of restored ones.
  for (const unit of units) {
    const items = unit.items;
    const neededDirs = new Set<string>();
    for (const item of items.values()) {
      if (item.kind === 'carry') continue;
      for (let dir = parentOf(item.rel); dir !== '' && !neededDirs.has(dir); dir = parentOf(dir)) neededDirs.add(dir);
    }
    for (const rel of neededDirs) {
      const item = items.get(rel);
      if (item?.kind === 'carry') {
        plan.warnings.push(`${item.display} is in the way of restored files below it and is not carried over (it is in the pre-restore snapshot)`);
        dropKept(plan, item);
        items.delete(rel);
      } else if (item?.kind === 'restore') {
        throw new UnsafeEntryPathError(`bundle entry ${item.entry.path} is not a directory but has entries below it`);
      }
    }
    const present = new Set<string>(['']);
    const finalItems: PlanItem[] = [];
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
          if (item.kind === 'carry') {
            plan.warnings.push(`${item.display} lies below ${blocker.rel}, which is not a directory in the restored tree; not carried over (it is in the pre-restore snapshot)`);
            dropKept(plan, item);
          }
          items.delete(rel);
          continue;
        }
        for (const a of missing.reverse()) {
          const implicit: PlanItem = { kind: 'dir', rel: a, mode: unit.liveDirModes.get(a) ?? 0o700, origin: 'implicit' };
          items.set(a, implicit);
          finalItems.push(implicit);
          present.add(a);
        }
      }
      if (item.kind === 'dir') present.add(rel);
      finalItems.push(item);
    }
    // finalItems is in sorted order except for implicit ancestors, which come right before their first descendant:
    // every directory precedes what lies below it, which is all staging needs.
    for (const item of finalItems) {
      if (item.kind !== 'restore') continue;
      if (!restoredPaths.has(item.entry.path)) plan.added.push(item.entry.path);
      if (item.entry.type === 'file') {
        plan.filesToWrite++;
        plan.bytesToWrite += item.entry.size ?? 0;
        if (item.entry.strategy === 'sqlite_backup') plan.databases.push(item.entry.path);
        if (item.merge && item.mergeLive) plan.merges.push(item.entry.path);
      }
    }
    plan.units.push({
      dir: unit.group.dir,
      exists: unit.stat !== undefined,
      rootMode: unit.rootMode ?? 0o700,
      parts: unit.group.parts.map(({ prefix, rel, keep }) => ({ prefix, rel, keep })),
      items: finalItems,
    });
  }
  for (const list of [plan.replaced, plan.unchanged, plan.added, plan.removed, plan.kept, plan.databases, plan.merges]) list.sort();
  return plan;
}

function dropKept(plan: RestorePlan, item: Extract<PlanItem, { kind: 'carry' }>): void {
  const index = plan.kept.indexOf(item.display);
  if (index >= 0) plan.kept.splice(index, 1);
  plan.keptReasons[item.reason] = (plan.keptReasons[item.reason] ?? 1) - 1;
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}
