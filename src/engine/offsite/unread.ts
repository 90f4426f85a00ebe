import fs from 'node:fs';
import path from 'node:path';
import { fsPath } from '../../fs-safety/fs-path.js';
import { MANIFEST_FILE } from '../../manifest/bundle-manifest.js';
import type { BundleRecord } from '../../store/bundles.js';
import type { UnhashedFiles } from '../verify/verify.js';
import { parentFiles } from './parent-files.js';
import { UnreadPrefetch } from './unread-prefetch.js';
import { unreadSize } from './unread-stat.js';

/**
 * The payload files of a bundle that restic will not read when push backs it up with
 * `--parent P --ignore-ctime`, P being the restic snapshot this host pushed of an earlier bundle
 * (the parent bundle) that is still on disk; push's verify need not hash them.
 *
 * Why that keeps "a damaged bundle is never copied off the machine": restic reuses a parent's
 * record of a file, without reading it, when the file at the same path has the same inode, size and
 * mtime as that record (ctime is ignored: linking a file into a new bundle changes it). The bytes
 * the repository then holds for the file are the ones P holds, and those were checked against the
 * parent's manifest when P was pushed (hashed then, or themselves taken unread from a parent
 * checked the same way). So a file need not be hashed when all of these hold, and any doubt hashes it:
 *  - it is the parent bundle's file at the same path: the same inode (dev, ino), linked (nlink ≥ 2);
 *  - the inode was born and last written before the parent bundle was complete (birth time ≤ mtime
 *    ≤ the mtime of the parent's rebuild-manifest.json, written last): so it is the inode, with the
 *    size and mtime, that P recorded at that path (the parent was pushed after it was complete). A
 *    file written or replaced since has a later mtime or birth time; one whose mtime was set back
 *    (touch, utimes) has an mtime before its birth, unless it was set to a time between the two by
 *    hand, to the nanosecond. A filesystem that reports no birth time gets every file hashed;
 *  - the parent's inventory lists it as a file with the same sha256 and size as this bundle's
 *    inventory, and it still has that size: the bytes P holds are the ones this manifest names.
 * A file damaged in place since (its content changed, its mtime not) is then not read by restic:
 * the repository keeps the parent's checked bytes for it, so the pushed copy is whole, and a pull of
 * it verifies. The local copy is damaged all the same, and `snapshot verify` says so.
 *
 * The parent's inventory is read alongside this bundle's, both in path order, one entry at a time
 * (parent-files.ts: a sidecar as text, a field or two taken from each line); `settle` reads it to its
 * end, where its bytes are checked against the sha256 its header records: false means it is damaged,
 * and the `keep` answers given from it cannot stand (push then hashes every file).
 */
export interface UnreadFiles extends UnhashedFiles {
  settle(): boolean;
  /** Lets go of what the answers took (a worker thread): called once the check is over, whatever its end. */
  close(): void;
}

/**
 * From this many payload files on, the lstats are made on a worker (unread-prefetch.ts): the check
 * on this thread then outlasts restic's start (its key's KDF, ~0.6 s here), and restic waits at the
 * gate. Below it the check ends within restic's start anyway, and a worker's boot would only take
 * CPU from both. Measured on tmpfs: 32,000 files (xlarge) 1.4-1.7 s -> 1.1-1.3 s; 6,300 (large): the same or ~50 ms worse.
 */
export const UNREAD_WORKER_FROM_FILES = 15_000;

export function unreadFiles(bundle: BundleRecord, parent: BundleRecord, workerFromFiles = UNREAD_WORKER_FROM_FILES): UnreadFiles | undefined {
  const done = fs.lstatSync(fsPath(path.join(parent.dir, MANIFEST_FILE)), { throwIfNoEntry: false });
  if (done?.isFile() !== true || parent.state !== 'complete' || parent.legacy !== undefined) return undefined;
  const places = { here: bundle.payloadDir, there: parent.payloadDir, completeMs: done.mtimeMs };
  const parentEntries = parentFiles(parent);
  // The two lstats of each file on a worker, answered by the time the inventories are compared (unread-prefetch.ts).
  const prefetch = (bundle.header?.totals.files ?? 0) >= workerFromFiles ? UnreadPrefetch.start(places) : undefined;
  // Database copies are decided at once, as the walk hands one out either unread, or hashed alone if the header records it quick_checked.
  const databases = new Set((bundle.header?.stateFiles ?? []).filter((s) => s.strategy === 'sqlite_backup').map((s) => s.path));
  // Each file's size as the walk found it, by its index, for those decided on this thread.
  const sizes = new GrowingSizes();
  return {
    skip: (rel, index) => {
      // Taken as unread for now: `keep` says otherwise for a file the worker finds restic would read.
      if (prefetch !== undefined && !databases.has(rel)) {
        prefetch.add(rel, index);
        return true;
      }
      const size = unreadSize(places, rel);
      if (size === undefined) return false;
      sizes.set(index, size);
      return true;
    },
    keep: (entry, index) => {
      const recorded = parentEntries.find(entry.path);
      if (recorded === undefined || recorded.sha256 !== entry.sha256 || recorded.size !== entry.size) return false;
      return (sizes.get(index) ?? prefetch?.size(index)) === entry.size;
    },
    settle: () => parentEntries.drain(),
    close: () => prefetch?.close(),
  };
}

/** Sizes by file index; an index never set has none (NaN within the array). */
class GrowingSizes {
  private values = new Float64Array(1024).fill(Number.NaN);

  set(index: number, size: number): void {
    if (index >= this.values.length) {
      const grown = new Float64Array(Math.max(index + 1, this.values.length * 2)).fill(Number.NaN);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[index] = size;
  }

  get(index: number): number | undefined {
    const size = this.values[index];
    return size === undefined || Number.isNaN(size) ? undefined : size;
  }
}
