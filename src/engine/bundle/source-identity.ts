import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';
import type { BundleEntry } from '../../manifest/bundle-manifest.js';

/** The lstat fields that identify a source file as captured. */
export type SourceIdentity = Pick<fs.Stats, 'size' | 'mtimeMs' | 'ino' | 'dev' | 'mode'>;

/** The live -wal's size and mtime, or -1/-1 when there is none. */
export function walIdentity(database: string): { walSize: number; walMtimeMs: number } {
  const wal = fs.lstatSync(fsPath(database + '-wal'), { throwIfNoEntry: false });
  return wal ? { walSize: wal.size, walMtimeMs: wal.mtimeMs } : { walSize: -1, walMtimeMs: -1 };
}

function identityKey(size: number | undefined, mtimeMs: number | undefined, dev: number, ino: number, mode: number | undefined): string {
  return `${size}\0${mtimeMs}\0${dev}\0${ino}\0${mode}`;
}

/**
 * The identity of the source file a bundle entry captured (size, mtime, inode, device, mode; for a
 * database also its -wal's size and mtime, since in WAL mode writes land there until a checkpoint),
 * as one string; undefined for an entry that can never stand for a live file (an imported one, or a
 * database captured without its -wal's identity).
 */
export function capturedIdentity(entry: BundleEntry): string | undefined {
  if (entry.ino === undefined || entry.dev === undefined || entry.sha256 === undefined) return undefined;
  const key = identityKey(entry.sourceSize ?? entry.size, entry.mtimeMs, entry.dev, entry.ino, entry.mode);
  if (entry.strategy !== 'sqlite_backup') return key;
  if (entry.walSize === undefined || entry.walMtimeMs === undefined) return undefined;
  return `${key}\0${entry.walSize}\0${entry.walMtimeMs}`;
}

function liveIdentity(stat: SourceIdentity, source: string, database: boolean): string {
  return sourceIdentityKey(stat, database ? walIdentity(source) : undefined);
}

/** A source file's identity from its stat (and its -wal's, for a database): what capturedIdentity is compared with. A remote scan supplies both itself. */
export function sourceIdentityKey(stat: SourceIdentity, wal?: { walSize: number; walMtimeMs: number }): string {
  const key = identityKey(stat.size, stat.mtimeMs, stat.dev, stat.ino, stat.mode & 0o7777);
  return wal === undefined ? key : `${key}\0${wal.walSize}\0${wal.walMtimeMs}`;
}

/**
 * Capture's "same file" rule: the live file is still exactly the one the entry captured, so the
 * bundle's copy can stand for it. Snapshot create (hard-link reuse) and diff ask it; space
 * accounting follows the links it made through `capturedIdentity`.
 */
export function stillAsCaptured(entry: BundleEntry, stat: SourceIdentity, source: string): boolean {
  const captured = capturedIdentity(entry);
  return captured !== undefined && captured === liveIdentity(stat, source, entry.strategy === 'sqlite_backup');
}
