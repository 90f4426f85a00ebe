import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../../store/atomic.js';
import { namesIn, removeTree } from '../../store/dirs.js';
import { PARTIAL_SUFFIX, type BundleRecord, type BundleState } from '../../store/bundles.js';
import type { EngineDeps } from '../deps.js';
import { forgetStaleDigests, spaceCacheDir, spaceFromManifests } from './space.js';

export interface DeletedBundle {
  id: string;
  timestamp: string;
  version: number | null;
  name: string | null;
  state: BundleState;
  files: number | null;
  bytes: number | null;
}

export const DELETING_PREFIX = '.deleting-';
/** An import's scratch dir in the sandbox dir (`.import-XXXXXX`). */
export const IMPORT_SCRATCH_PREFIX = '.import-';

export function describeBundle(record: BundleRecord): DeletedBundle {
  return {
    id: record.id,
    timestamp: record.timestamp,
    version: record.version ?? null,
    name: record.header?.name ?? null,
    state: record.state,
    files: record.header?.totals.files ?? null,
    bytes: record.header?.totals.bytes ?? null,
  };
}

/** Disk use of the complete bundles now, minus after: what deleting `targets` frees. */
export function freedBy(records: BundleRecord[], targets: BundleRecord[], sandboxDir: string): number {
  const cacheDir = spaceCacheDir(sandboxDir);
  const gone = new Set(targets.map((t) => t.id));
  const before = spaceFromManifests(records, cacheDir).bytes;
  const after = spaceFromManifests(records.filter((r) => !gone.has(r.id)), cacheDir).bytes;
  return before - after;
}

/** The caller holds the sandbox lock. */
export function removeBundles(sandboxDir: string, targets: BundleRecord[], deps: EngineDeps): void {
  for (const record of targets) {
    const doomed = path.join(sandboxDir, `${DELETING_PREFIX}${record.id}`);
    // A killed delete's leftover of the same name would make the rename fail (ENOTEMPTY) after an import published.
    removeTree(doomed);
    fs.renameSync(record.dir, doomed);
    fsyncDir(sandboxDir);
    deps.fault?.('delete:after-rename');
    removeTree(doomed);
  }
  fsyncDir(sandboxDir);
  forgetStaleDigests(sandboxDir);
}

/**
 * Removes what interrupted commands left in a sandbox's bundle dir: a delete's `.deleting-*`, an
 * import's `.import-*` scratch, a create's or import's `<timestamp>.partial` (nobody writes one
 * without the lock the caller holds; `spare` keeps the names a command handles itself), and a
 * diff's `.diff-<pid>-*` once that pid is gone. Says what went in one warning line; what cannot be
 * removed is named and left for the next command. Returns the names removed.
 */
export function sweepLeftovers(sandboxDir: string, deps: EngineDeps, spare: (name: string) => boolean = () => false): string[] {
  const removed: string[] = [];
  for (const name of namesIn(sandboxDir).sort()) {
    if (!isLeftover(name, deps.host.isAlive) || spare(name)) continue;
    try {
      removeTree(path.join(sandboxDir, name));
      removed.push(name);
    } catch (error) {
      deps.events.warning?.(`could not remove ${path.join(sandboxDir, name)}, left by an interrupted command (${(error as Error).message}); remove it by hand`);
    }
  }
  if (removed.length === 0) return removed;
  fsyncDir(sandboxDir);
  deps.events.warning?.(`removed what interrupted commands left in ${sandboxDir}: ${removed.join(', ')}`);
  return removed;
}

function isLeftover(name: string, isAlive: (pid: number) => boolean): boolean {
  if (name.startsWith(DELETING_PREFIX) || name.startsWith(IMPORT_SCRATCH_PREFIX)) return true;
  if (name.endsWith(PARTIAL_SUFFIX) && !name.startsWith('.')) return true;
  const scratch = /^\.diff-(\d+)-[0-9a-f]+$/.exec(name);
  return scratch !== null && !isAlive(Number(scratch[1]));
}
