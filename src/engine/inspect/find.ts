import picomatch from 'picomatch';
import { ClawbackError } from '../../errors.js';
import type { BundleManifest, EntryType } from '../../manifest/bundle-manifest.js';
import type { BundleRecord } from '../../store/bundles.js';
import { sandboxRecords } from '../bundle/find.js';
import type { EngineDeps } from '../deps.js';
import { listSandboxes } from '../sandbox/sandbox.js';
import { comparePaths, snapshotRef, type SnapshotRef, manifestOf } from './snapshot-ref.js';

export interface FindRequest {
  glob: string;
  /** The sandboxes to search, in order. */
  sandboxes: string[];
}

/** How a path's content compares with the next older snapshot of the same sandbox that holds it. */
export type FindChange = 'new' | 'changed' | 'same';

export interface FindHit {
  sandbox: string;
  snapshot: SnapshotRef;
  path: string;
  type: EntryType;
  size: number | null;
  sha256: string | null;
  change: FindChange;
}

export interface FindResult {
  glob: string;
  hits: FindHit[];
  /** Snapshots whose manifest could not be read: not searched. */
  unreadable: Array<{ sandbox: string; id: string; problem: string }>;
}

/**
 * A glob without '/' matches a name at any depth (`SOUL.md`, `*.sqlite`); one with '/' matches the
 * whole path from the snapshot's root (`memory/2026-*.md`, `workspace/**`).
 */
export function pathMatcher(glob: string): (path: string) => boolean {
  return picomatch(glob, { dot: true, basename: !glob.includes('/') });
}

/** What identifies an entry's content: the file's hash, the link's target, or just being a directory. */
function contentKey(hit: Pick<FindHit, 'type' | 'sha256'>, target: string | undefined): string {
  return hit.type === 'file' ? `f:${hit.sha256 ?? ''}` : hit.type === 'symlink' ? `l:${target ?? ''}` : 'd';
}

/** The hits of one sandbox, newest first. Reads one manifest at a time, keeping only matching entries. */
function findInSandbox(sandbox: string, matches: (path: string) => boolean, deps: EngineDeps, unreadable: FindResult['unreadable']): FindHit[] {
  const records = sandboxRecords(sandbox, deps).filter((r) => r.state === 'complete');
  const previous = new Map<string, string>();
  const hits: FindHit[] = [];
  for (const record of records) {
    const found = matchingEntries(record, matches);
    if (found instanceof ClawbackError) {
      unreadable.push({ sandbox, id: record.id, problem: found.message });
      continue;
    }
    const ref = snapshotRef(record);
    for (const entry of found) {
      const hit: FindHit = { sandbox, snapshot: ref, path: entry.path, type: entry.type, size: entry.type === 'file' ? entry.size ?? null : null, sha256: entry.sha256 ?? null, change: 'new' };
      const key = contentKey(hit, entry.target);
      const before = previous.get(entry.path);
      hit.change = before === undefined ? 'new' : before === key ? 'same' : 'changed';
      previous.set(entry.path, key);
      hits.push(hit);
    }
  }
  // Newest first; within a snapshot, in path order.
  return hits.reverse().sort((a, b) => (a.snapshot.timestamp === b.snapshot.timestamp ? comparePaths(a.path, b.path) : a.snapshot.timestamp < b.snapshot.timestamp ? 1 : -1));
}

function matchingEntries(record: BundleRecord, matches: (path: string) => boolean): BundleManifest['entries'] | ClawbackError {
  try {
    // Read here, not through the record, which would keep every inventory in memory.
    return manifestOf(record).entries.filter((e) => matches(e.path));
  } catch (error) {
    if (error instanceof ClawbackError) return error;
    throw error;
  }
}

/** Which snapshots hold a path matching the glob, newest first, and whether its content changed from the next older one. */
export function findInSnapshots(request: FindRequest, deps: EngineDeps): FindResult {
  const matches = pathMatcher(request.glob);
  const unreadable: FindResult['unreadable'] = [];
  const hits = request.sandboxes.flatMap((sandbox) => findInSandbox(sandbox, matches, deps, unreadable));
  return { glob: request.glob, hits, unreadable };
}

/** Every registered sandbox's name, for `find --all`. */
export function registeredSandboxNames(deps: EngineDeps): string[] {
  return listSandboxes(deps).map((entry) => entry.name);
}
