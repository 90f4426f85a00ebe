import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';

/** Where a bundle's files and its parent bundle's are, and when the parent was complete (unread.ts). */
export interface UnreadPlaces {
  /** This bundle's payload directory. */
  here: string;
  /** The parent bundle's payload directory. */
  there: string;
  /** The mtime of the parent's rebuild-manifest.json (written last). */
  completeMs: number;
}

/**
 * The size of the payload file `rel` if restic will take it unread from the parent's snapshot (the
 * inode, link and time conditions of unread.ts), else undefined: its two lstats. Any error (a file
 * gone, a permission refused) is undefined too: the file is then hashed.
 */
export function unreadSize(places: UnreadPlaces, rel: string): number | undefined {
  try {
    const mine = fs.lstatSync(fsPath(`${places.here}/${rel}`), { throwIfNoEntry: false });
    if (mine?.isFile() !== true || mine.nlink < 2) return undefined;
    if (!(mine.birthtimeMs > 0 && mine.birthtimeMs <= mine.mtimeMs && mine.mtimeMs <= places.completeMs)) return undefined;
    const theirs = fs.lstatSync(fsPath(`${places.there}/${rel}`), { throwIfNoEntry: false });
    if (theirs?.isFile() !== true || theirs.ino !== mine.ino || theirs.dev !== mine.dev) return undefined;
    return mine.size;
  } catch {
    return undefined;
  }
}

/** A batch's verdict for a file: taken unread (its size is set), or to be hashed. */
export const VERDICT_UNREAD = 1;
export const VERDICT_HASH = 2;

/**
 * One batch's answers, in shared memory: the sizes (Float64) then a verdict per file and, last,
 * the done flag (Int32), which the worker sets after every verdict, and waits are made on.
 */
export function batchViews(shared: SharedArrayBuffer, count: number): { sizes: Float64Array; verdicts: Int32Array } {
  return { sizes: new Float64Array(shared, 0, count), verdicts: new Int32Array(shared, count * Float64Array.BYTES_PER_ELEMENT, count + 1) };
}

export function batchBytes(count: number): number {
  return count * Float64Array.BYTES_PER_ELEMENT + (count + 1) * Int32Array.BYTES_PER_ELEMENT;
}
