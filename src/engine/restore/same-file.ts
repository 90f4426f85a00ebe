import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import type { LiveInfo, RestoreItem } from './plan-types.js';

/** The metadata restore compares: size, permission bits and mtime. */
export interface FileFacts {
  size: number;
  mode: number;
  mtimeMs: number;
}

/** The file the restore writes for a bundle entry: the manifest's size and mtime, with the mode the restore gives it. */
export function restoredFile(entry: BundleEntry, mode: number): FileFacts {
  return { size: entry.size ?? -1, mode, mtimeMs: entry.mtimeMs ?? -1 };
}

/**
 * Restore's one "same file" rule: a live regular file already is the file the
 * restore would write when its size, permission bits and mtime (to the
 * millisecond) are that file's. The dry run stops at this; a restore links
 * the live file instead of copying only once its sha256 matches the manifest
 * too (live-hash), and checks this again just before linking, in case the
 * agent wrote to it meanwhile.
 */
export function holdsRestoredFile(live: FileFacts, restored: FileFacts): boolean {
  return live.size === restored.size && (live.mode & 0o777) === (restored.mode & 0o777) && Math.trunc(live.mtimeMs) === Math.trunc(restored.mtimeMs);
}

/** A live entry already is what the restore writes at its path: the same link target, or a file by the rule above. */
export function liveIsRestored(live: LiveInfo, item: RestoreItem): boolean {
  const entry = item.entry;
  if (entry.type === 'symlink') return live.type === 'symlink' && live.target === entry.target;
  return entry.type === 'file' && live.type === 'file' && holdsRestoredFile(live, restoredFile(entry, item.mode));
}
