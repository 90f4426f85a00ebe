import type { BundleRecord } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { headerRecords } from '../bundle/header-records.js';
import { snapshotScope, type ModuleFacts, type SnapshotScope } from '../bundle/scope.js';
import type { EngineDeps } from '../deps.js';
import { spaceCacheDir, spaceFromInodes, spaceFromManifests, type SpaceUsage } from '../bundle/space.js';

export interface SnapshotRow {
  version: number | null;
  id: string;
  shortId: string;
  name: string | null;
  timestamp: string;
  state: 'complete' | 'partial' | 'corrupt';
  files: number | null;
  bytes: number | null;
  /** Bytes only this bundle holds (what deleting it alone frees); null when not counted. */
  uniqueBytes: number | null;
  path: string;
  problem: string | null;
  /** Files captured as raw bytes (SQLite could not read them); null when the header is unreadable. */
  degraded: string[] | null;
  /** A bundle NemoClaw itself wrote (format nemoclaw-v1), read in place. */
  legacy: boolean;
  /** Databases found but not captured; null when the header is unreadable. */
  missingDatabases: string[] | null;
  /** What the snapshot holds (full, or which modules/agents, secrets or not); null when the header is unreadable. */
  scope: SnapshotScope | null;
}

function toRow(record: BundleRecord, facts: ModuleFacts | undefined, space?: SpaceUsage): SnapshotRow {
  return {
    version: record.version ?? null,
    id: record.id,
    shortId: record.shortId,
    name: record.header?.name ?? null,
    timestamp: record.timestamp,
    state: record.state,
    files: record.header?.totals.files ?? null,
    bytes: record.header?.totals.bytes ?? null,
    uniqueBytes: space?.uniqueBytes.get(record.id) ?? null,
    path: record.dir,
    problem: record.problem?.message ?? null,
    degraded: record.header ? (record.header.degraded ?? []).map((d) => d.path) : null,
    legacy: record.legacy !== undefined,
    missingDatabases: record.header ? (record.header.databases?.missing ?? []).map((d) => d.path) : null,
    scope: record.header ? snapshotScope(record.header, facts) : null,
  };
}

export interface DiskUsage {
  /** Bytes of payload files on disk, a file shared by several bundles counted once. */
  bytes: number;
  files: number;
  /** Sum of every counted bundle's own size: what the bundles would take without hard links. */
  totalBytes: number;
  method: SpaceUsage['method'];
  /** Partial or corrupt bundles left out (the manifests method cannot see inside them). */
  uncounted: string[];
}

/**
 * The list with each bundle's unique bytes and the real disk use. By default inferred from
 * the manifests through a cached digest per bundle (no stat per file, so a list of hundreds
 * of bundles stays fast); `exact` lstats every payload file and counts inodes.
 */
export async function listSnapshotsWithSpace(sandbox: string, deps: EngineDeps, options: { exact?: boolean } = {}): Promise<{ snapshots: SnapshotRow[]; diskUsage: DiskUsage }> {
  // A NemoClaw bundle's space comes from space.ts's own walk: no inventory is read (header-records.ts).
  const records = headerRecords(sandbox, deps);
  const space = options.exact ? spaceFromInodes(records) : spaceFromManifests(records, spaceCacheDir(sandboxBundleDir(deps.layout, sandbox)));
  // Only a partial snapshot's scope needs the agent manifest's modules: they and their parser load only then.
  const partial = records.some((r) => r.header !== undefined && !r.header.scope.full);
  const facts = partial ? (await import('../bundle/find.js')).sandboxModuleFacts(sandbox, deps) : undefined;
  const snapshots = records.map((r) => toRow(r, facts, space));
  const totalBytes = records.filter((r) => !space.uncounted.includes(r.id)).reduce((sum, r) => sum + (r.header?.totals.bytes ?? 0), 0);
  return { snapshots, diskUsage: { bytes: space.bytes, files: space.files, totalBytes, method: space.method, uncounted: space.uncounted } };
}
