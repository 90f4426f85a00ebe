import type { BundleEntry } from '../../manifest/bundle-manifest.js';

/**
 * Files a caller vouches for otherwise, so verify need not hash them (push: the files restic will not
 * read, src/engine/offsite/unread.ts). `skip` is asked for each payload file as the walk finds it,
 * with its index (its place in the walk); each file it skipped is still checked to be there as a
 * file, and `keep` is then asked with its inventory entry and index, in inventory order: false
 * hashes it after all (on this thread, without a database's quick_check).
 */
export interface UnhashedFiles {
  skip(rel: string, index: number): boolean;
  keep(entry: BundleEntry, index: number): boolean;
}

/** The skipped files by index, and what the inventory comparison asks `keep` about each. */
export function unhashedMarks(count: number, skipped: number[], unhashed: UnhashedFiles | undefined): { marks: Uint8Array; onFile: (index: number, entry: BundleEntry) => void } | undefined {
  if (unhashed === undefined || skipped.length === 0) return undefined;
  const marks = new Uint8Array(count);
  for (const index of skipped) marks[index] = UNREAD;
  return {
    marks,
    onFile: (index, entry) => {
      if (marks[index] === UNREAD && !unhashed.keep(entry, index)) marks[index] = HASH_LATE;
    },
  };
}

export const UNREAD = 1;
export const HASH_LATE = 2;
