import type { BundleEntry, BundleMount } from '../../manifest/bundle-manifest.js';
import { displayName } from '../../fs-safety/fs-path.js';
import type { Transport } from '../../transport/index.js';
import { capturedIdentity, sourceIdentityKey } from '../bundle/source-identity.js';
import { hashTool, remoteSha256 } from '../sandbox/remote-hash.js';
import { scanRemoteMounts, type RemoteListing } from '../sandbox/remote-scan.js';
import type { ScannedEntry } from '../sandbox/scan.js';
import type { Selection } from '../sandbox/selection.js';

/**
 * The live side of `snapshot diff` for a sandbox behind a transport (SPEC §11): one remote scan with
 * the snapshot's selection, then every live file whose identity differs from what the snapshot
 * captured is settled here, so diff's comparer never reads a remote path itself:
 * - a different size is different content; the same size and mtime the same (as locally);
 * - the same size and another mtime: hashed in the target, all such files in one `sha256sum` batch
 *   (names NUL-separated on stdin), so only 64 hex digits per file cross the wire;
 * - a database (captured through SQLite's backup API, so its bytes are not the live file's) is the
 *   same when its file and -wal are exactly as captured; otherwise it is shown as changed with a
 *   warning, not backed up in the target to compare — that would cost a full copy of every moved
 *   database per diff, which is what a snapshot is for.
 */

export interface RemoteLiveFile {
  scanned: ScannedEntry;
  /** Settled here: whether the live file holds the snapshot entry's bytes (absent for new paths). */
  same?: boolean;
}

export interface RemoteLive {
  entries: RemoteLiveFile[];
  /** Files hashed in the target. */
  hashed: number;
  rootExists: boolean;
  warnings: string[];
}

function walOf(listing: RemoteListing, source: string): { walSize: number; walMtimeMs: number } {
  const wal = listing.stats.get(`${source}-wal`);
  return wal ? { walSize: wal.size, walMtimeMs: wal.mtimeMs } : { walSize: -1, walMtimeMs: -1 };
}

/** true/false when decided from the listing alone; undefined when the bytes must be hashed. */
function verdict(entry: BundleEntry, scanned: ScannedEntry, listing: RemoteListing, warnings: string[]): boolean | undefined {
  const stat = scanned.stat;
  if (entry.strategy === 'sqlite_backup' && listing.stats.get(scanned.source)?.sqlite === true) {
    const captured = capturedIdentity(entry);
    if (captured !== undefined && captured === sourceIdentityKey(stat, walOf(listing, scanned.source))) return true;
    warnings.push(`${displayName(entry.path)}: a database that was written since the snapshot; shown as changed (databases in a remote sandbox are not compared by content)`);
    return false;
  }
  if (entry.size !== stat.size) return false;
  if (entry.mtimeMs === stat.mtimeMs) return true;
  return undefined;
}

/** Scans the remote mounts and settles every file that the snapshot also holds. */
export async function remoteLiveState(
  transport: Transport,
  request: { root: string; mounts: BundleMount[]; selection: Selection; managedLinks: string[]; captured: ReadonlyMap<string, BundleEntry> },
): Promise<RemoteLive> {
  const { scan, listing } = await scanRemoteMounts(transport, request.mounts, request.selection, request.managedLinks);
  const warnings = [...scan.warnings];
  for (const link of scan.unsafeLinks) warnings.push(`${link}: an unsafe link a snapshot would refuse; not compared`);
  for (const special of scan.specialFiles) warnings.push(`${special}: a snapshot would refuse it; not compared`);
  const entries: RemoteLiveFile[] = [...scan.entries].map((scanned) => ({ scanned }));
  const toHash: Array<{ file: RemoteLiveFile; sha256: string }> = [];
  for (const file of entries) {
    const entry = request.captured.get(file.scanned.path);
    if (file.scanned.type !== 'file' || entry?.type !== 'file' || entry.sha256 === undefined) continue;
    const same = verdict(entry, file.scanned, listing, warnings);
    if (same === undefined) toHash.push({ file, sha256: entry.sha256 });
    else file.same = same;
  }
  if (toHash.length > 0) {
    const hashes = await remoteSha256(transport, toHash.map((h) => h.file.scanned.source), await hashTool(transport));
    toHash.forEach((h, i) => {
      const hash = hashes[i];
      if (hash === undefined) warnings.push(`${displayName(h.file.scanned.path)}: could not be read to compare; shown as changed`);
      h.file.same = hash === h.sha256;
    });
  }
  return { entries, hashed: toHash.length, rootExists: listing.stats.get(request.root)?.isDirectory() === true, warnings };
}
