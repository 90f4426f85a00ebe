import { ClawbackError } from '../../errors.js';
import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import type { BundleRecord } from '../../store/bundles.js';
import { findSnapshot, sandboxRecords } from '../bundle/find.js';
import { spaceFromInodes } from '../bundle/space.js';
import type { EngineDeps } from '../deps.js';
import { readInventory, snapshotRef, type SnapshotRef, manifestOf } from './snapshot-ref.js';

/*
 * Unique bytes: the bytes of a snapshot's files whose content (sha256) no other complete snapshot
 * of the same sandbox holds — what would be lost, not merely freed, if this snapshot were deleted.
 * A file hard-linked from another snapshot has the same content, so it is never unique.
 */

export interface StatsCount {
  files: number;
  bytes: number;
  uniqueBytes: number;
}

export interface SnapshotStats extends StatsCount {
  sandbox: string;
  snapshot: SnapshotRef;
  modules: Array<StatsCount & { module: string }>;
  /** Files of no agent (shared config, secrets) are under agent null. */
  agents: Array<StatsCount & { agent: string | null }>;
  /** Other snapshots whose manifest could not be read: unique bytes may be overstated. */
  uncounted: string[];
}

export interface SandboxStats {
  sandbox: string;
  snapshots: Array<StatsCount & { snapshot: SnapshotRef }>;
  totals: StatsCount & { snapshots: number };
  /** Payload bytes and files on disk, every inode counted once (hard-linked files once), incomplete snapshots included. */
  disk: { bytes: number; files: number };
  uncounted: string[];
}

type Manifest = { entries: BundleEntry[] };

function readOrProblem(record: BundleRecord): Manifest | undefined {
  try {
    // Read here, not through the record, which would keep every inventory in memory.
    return manifestOf(record);
  } catch (error) {
    if (error instanceof ClawbackError) return undefined;
    throw error;
  }
}

function add<K>(groups: Map<K, StatsCount>, key: K, size: number, unique: boolean): void {
  const group = groups.get(key) ?? { files: 0, bytes: 0, uniqueBytes: 0 };
  group.files += 1;
  group.bytes += size;
  if (unique) group.uniqueBytes += size;
  groups.set(key, group);
}

/** Files, bytes and unique bytes of one snapshot, per module and per agent. Other manifests are read one at a time. */
export function snapshotStats(sandbox: string, selector: string, deps: EngineDeps): SnapshotStats {
  const record = findSnapshot(sandbox, selector, deps);
  const files = readInventory(record).entries.filter((e) => e.type === 'file');
  const shared = new Set<string>();
  const own = new Set(files.map((e) => e.sha256!));
  const uncounted: string[] = [];
  for (const other of sandboxRecords(sandbox, deps)) {
    if (other.id === record.id || other.state !== 'complete') continue;
    const manifest = readOrProblem(other);
    if (manifest === undefined) uncounted.push(other.id);
    for (const entry of manifest?.entries ?? []) if (entry.type === 'file' && own.has(entry.sha256!)) shared.add(entry.sha256!);
  }
  const modules = new Map<string, StatsCount>();
  const agents = new Map<string | null, StatsCount>();
  const total = new Map<'all', StatsCount>();
  for (const entry of files) {
    const unique = !shared.has(entry.sha256!);
    add(modules, entry.module, entry.size ?? 0, unique);
    add(agents, entry.agent ?? null, entry.size ?? 0, unique);
    add(total, 'all', entry.size ?? 0, unique);
  }
  const sum = total.get('all') ?? { files: 0, bytes: 0, uniqueBytes: 0 };
  return {
    sandbox,
    snapshot: snapshotRef(record),
    ...sum,
    modules: [...modules].map(([module, count]) => ({ module, ...count })).sort((a, b) => (a.module < b.module ? -1 : 1)),
    agents: [...agents].map(([agent, count]) => ({ agent, ...count })).sort((a, b) => ((a.agent ?? '') < (b.agent ?? '') ? -1 : 1)),
    uncounted,
  };
}

/** Every complete snapshot's files, bytes and unique bytes, and the disk all of them take. */
export function sandboxStats(sandbox: string, deps: EngineDeps): SandboxStats {
  const records = sandboxRecords(sandbox, deps);
  const complete = records.filter((r) => r.state === 'complete');
  // Per content: the first snapshot holding it, whether another holds it too, and that first one's bytes of it.
  const byHash = new Map<string, { owner: number; shared: boolean; ownerBytes: number }>();
  const counts: Array<StatsCount & { snapshot: SnapshotRef }> = [];
  const uncounted: string[] = [];
  for (const [index, record] of complete.entries()) {
    const manifest = readOrProblem(record);
    if (manifest === undefined) uncounted.push(record.id);
    const count = { snapshot: snapshotRef(record), files: 0, bytes: 0, uniqueBytes: 0 };
    for (const entry of manifest?.entries ?? []) {
      if (entry.type !== 'file') continue;
      count.files += 1;
      count.bytes += entry.size ?? 0;
      const seen = byHash.get(entry.sha256!);
      if (seen === undefined) byHash.set(entry.sha256!, { owner: index, shared: false, ownerBytes: entry.size ?? 0 });
      else if (seen.owner === index) seen.ownerBytes += entry.size ?? 0;
      else seen.shared = true;
    }
    counts.push(count);
  }
  for (const seen of byHash.values()) if (!seen.shared) counts[seen.owner]!.uniqueBytes += seen.ownerBytes;
  const space = spaceFromInodes(records);
  const totals = counts.reduce((t, c) => ({ snapshots: t.snapshots, files: t.files + c.files, bytes: t.bytes + c.bytes, uniqueBytes: t.uniqueBytes + c.uniqueBytes }), {
    snapshots: complete.length,
    files: 0,
    bytes: 0,
    uniqueBytes: 0,
  });
  return { sandbox, snapshots: counts.reverse(), totals, disk: { bytes: space.bytes, files: space.files }, uncounted };
}
