import path from 'node:path';
import { RefusedError } from '../../errors.js';
import type { LiveStat, LiveView } from './live-view.js';
import type { MappedMount } from './mounts.js';
import type { UnitPart } from './plan-types.js';

export interface UnitGroupPart extends UnitPart {
  dir: string;
}

/** A directory swapped as a whole, with the mounts inside it (deepest first). */
export interface UnitGroup {
  dir: string;
  parts: UnitGroupPart[];
}

/** A unit as planning finds it on disk. */
export interface OpenUnit {
  group: UnitGroup;
  stat: LiveStat | undefined;
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function toPosixRel(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/');
}

function assertRestorable(mount: MappedMount, resolved: readonly MappedMount[], home: string | undefined): void {
  if (path.dirname(mount.dir) === mount.dir) throw new RefusedError('unsafe-target', `refusing to restore over the filesystem root (${mount.dir})`);
  const clash = resolved.find((m) => m !== mount && m.inBundle && m.dir === mount.dir);
  if (clash) throw new RefusedError('mount-clash', `the payload prefixes ${JSON.stringify(mount.prefix)} and ${JSON.stringify(clash.prefix)} both map to ${mount.dir}`);
  if (home !== undefined && isInside(home, mount.dir)) {
    throw new RefusedError('unsafe-target', `refusing to restore ${mount.dir}: it contains clawback's home ${home}`, { hint: 'keep CLAWBACK_HOME outside the agent state' });
  }
}

/**
 * The directories the restore swaps: each mount the bundle has, unless it lies
 * inside another one (then it is a part of that unit); current mounts the
 * bundle lacks that lie inside a unit are parts it keeps untouched.
 */
export function groupUnits(mounts: readonly MappedMount[], home: string | undefined, live: LiveView): UnitGroup[] {
  // realpath of the longest existing ancestor, so a root reached through a symlink is swapped where it really lives.
  const resolved = mounts.map((m) => ({ ...m, dir: live.realpathLoose(m.dir) }));
  const heads = resolved.filter((m) => m.inBundle).sort((a, b) => a.dir.length - b.dir.length);
  const units: UnitGroup[] = [];
  for (const mount of heads) {
    assertRestorable(mount, resolved, home);
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

export function openUnits(groups: readonly UnitGroup[], live: LiveView): OpenUnit[] {
  return groups.map((group) => {
    const stat = live.lstat(group.dir);
    if (stat && stat.type !== 'dir') throw new RefusedError('not-a-directory', `${group.dir} exists and is not a directory`);
    return { group, stat };
  });
}
