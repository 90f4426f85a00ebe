import fs from 'node:fs';
import type { BundleEntry } from '../../manifest/bundle-manifest.js';

/** The lstat fields that identify a source file as captured. */
export type SourceIdentity = Pick<fs.Stats, 'size' | 'mtimeMs' | 'ino' | 'dev' | 'mode'>;

/** The live -wal's size and mtime, or -1/-1 when there is none. */
export function walIdentity(database: string): { walSize: number; walMtimeMs: number } {
  const wal = fs.lstatSync(database + '-wal', { throwIfNoEntry: false });
  return wal ? { walSize: wal.size, walMtimeMs: wal.mtimeMs } : { walSize: -1, walMtimeMs: -1 };
}

/**
 * Whether a live file is exactly as a bundle entry captured it (same size, mtime, inode, device and
 * mode), so its copy in the bundle can stand for it. A database also needs its -wal unchanged: in
 * WAL mode writes land there until a checkpoint. Snapshot create (hard-link reuse) and diff share it.
 */
export function unchangedSince(prior: BundleEntry, stat: SourceIdentity, source: string): boolean {
  const same =
    prior.ino === stat.ino &&
    prior.dev === stat.dev &&
    (prior.sourceSize ?? prior.size) === stat.size &&
    prior.mtimeMs === stat.mtimeMs &&
    prior.mode === (stat.mode & 0o7777);
  if (!same || prior.strategy !== 'sqlite_backup') return same;
  if (prior.walSize === undefined || prior.walMtimeMs === undefined) return false;
  const now = walIdentity(source);
  return now.walSize === prior.walSize && now.walMtimeMs === prior.walMtimeMs;
}
