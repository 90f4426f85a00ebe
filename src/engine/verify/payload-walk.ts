import fs from 'node:fs';
import { fsPath, readDirents } from '../../fs-safety/fs-path.js';
import type { BundleRecord } from '../../store/bundles.js';
import { databaseCopies, NO_DATABASE_COPIES } from './database-copies.js';
import type { HashRunHandle } from './hasher-pool.js';
import type { UnhashedFiles } from './unhashed.js';

/** verify's walk of a payload, and how it hands each file it finds to the hashers. */

/** What the walk handed to the hashers: the files found, each one's path by its index, the recorded database copies and the skipped files, by index. */
export interface HandedOut {
  found: Map<string, number> | undefined;
  /** Each file's path, by its index; the walk's own strings, so the manifest's need not be kept. */
  paths: string[];
  /** The database copies handed out without a quick_check, by index: the sha256 the header records them quick_checked at. */
  quickChecked: Map<number, string>;
  /** The indices of the files `unhashed` skipped. */
  skipped: number[];
}

/** Hands every payload file to the hashers: the database copies first (largest first), then the rest as the walk finds them. */
export function handOut(record: BundleRecord, payload: string, hashing: HashRunHandle, unhashed: UnhashedFiles | undefined): HandedOut {
  const out: HandedOut = { found: undefined, paths: [], quickChecked: new Map(), skipped: [] };
  const { paths, quickChecked, skipped } = out;
  const early = new Map<string, number>();
  try {
    // With files to skip, the databases too are left to the walk (which may skip them); a recorded one it hashes alone.
    const copies = unhashed === undefined ? databaseCopies(record, payload) : NO_DATABASE_COPIES;
    const recorded = unhashed === undefined ? NO_DATABASE_COPIES.quickChecked : databaseCopies(record, payload).quickChecked;
    for (const rel of copies.rels) {
      const index = paths.push(rel) - 1;
      early.set(rel, index);
      const sha256 = copies.quickChecked.get(rel);
      if (sha256 !== undefined) quickChecked.set(index, sha256);
    }
    // A copy the header records as quick_checked is checked again only if its bytes say so (checkHashes).
    hashing.addDatabases(copies.rels, (rel) => !copies.quickChecked.has(rel));
    out.found = walkPayload(payload, (rel) => {
      const index = early.get(rel);
      if (index !== undefined) return index;
      const unhashedHere = unhashed?.skip(rel, paths.length) === true;
      const sha256 = unhashedHere ? undefined : recorded.get(rel);
      if (unhashedHere) hashing.skip();
      else if (sha256 !== undefined) hashing.addDatabases([rel], () => false);
      else hashing.add(rel);
      const added = paths.push(rel) - 1;
      if (unhashedHere) skipped.push(added);
      if (sha256 !== undefined) quickChecked.set(added, sha256);
      return added;
    });
  } finally {
    hashing.end();
  }
  return out;
}

export type FoundType = 'file' | 'dir' | 'symlink' | 'other';

/** In the walk's map, a file is its index among the files handed out for hashing (>= 0); anything else one of these. */
export const FOUND_CODES: Record<Exclude<FoundType, 'file'>, number> = { dir: -1, symlink: -2, other: -3 };

export function foundType(code: number): FoundType {
  return code >= 0 ? 'file' : code === FOUND_CODES.dir ? 'dir' : code === FOUND_CODES.symlink ? 'symlink' : 'other';
}

export const TYPE_WORDS: Record<FoundType, string> = { file: 'a file', dir: 'a directory', symlink: 'a symlink', other: 'a special file' };

/**
 * Every path below the payload with its type, from readdir's d_type (lstat only where the
 * filesystem gives none); each file is handed to `onFile` as it is found, which gives its
 * index (its place among the files to hash).
 */
export function walkPayload(payload: string, onFile: (rel: string) => number): Map<string, number> | undefined {
  if (!fs.lstatSync(payload, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  const found = new Map<string, number>();
  const walk = (dir: string, rel: string): void => {
    for (const dirent of listDirents(dir)) {
      const name = dirent.name;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const type = direntType(`${dir}/${name}`, dirent);
      if (type === 'file') {
        found.set(childRel, onFile(childRel));
        continue;
      }
      found.set(childRel, FOUND_CODES[type]);
      if (type === 'dir') walk(`${dir}/${name}`, childRel);
    }
  };
  walk(payload, '');
  return found;
}

/**
 * A directory's dirents, each named as fs-path names it (bytes that are not UTF-8 escaped). Node
 * decodes names as UTF-8 itself, with U+FFFD for bytes that are not: only a listing holding one is
 * read again as bytes (readDirents), which spares a Buffer and a decode per name.
 */
function listDirents(dir: string): Array<{ name: string } & Pick<fs.Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>> {
  const dirents = fs.readdirSync(fsPath(dir), { withFileTypes: true });
  for (const dirent of dirents) {
    if (dirent.name.includes('\uFFFD')) return readDirents(dir).map(({ name, dirent: bytes }) => ({ name, isFile: () => bytes.isFile(), isDirectory: () => bytes.isDirectory(), isSymbolicLink: () => bytes.isSymbolicLink() }));
  }
  return dirents;
}

function direntType(full: string, dirent: Pick<fs.Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): FoundType {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isSymbolicLink()) return 'symlink';
  // Some filesystems give no d_type; ask lstat then.
  const stat = fs.lstatSync(fsPath(full));
  return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
}
