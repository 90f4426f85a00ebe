import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';
import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import { restoreDatabase } from '../../sqlite/backup.js';
import { checkVerified, copyVerified } from '../bundle/checked-read.js';

/**
 * One bundle file written into the staged tree, checked against the manifest: a database through
 * SQLite's backup (its sha256 is checked by the hash jobs before anything is swapped), any other
 * file copied and hashed as it is read. Runs on the calling thread or on a staging worker.
 */
export async function stageBundleFile(source: string, dest: string, entry: BundleEntry, mode: number): Promise<void> {
  if (entry.strategy !== 'sqlite_backup') {
    copyVerified(source, dest, entry, mode);
    return;
  }
  try {
    await restoreDatabase(source, dest, entry.journalMode, entry.path);
  } catch (error) {
    // A damaged copy can make SQLite itself fail: report the damage, not SQLite's symptom.
    checkVerified(source, entry);
    throw error;
  }
  fs.chmodSync(fsPath(dest), mode);
  if (entry.mtimeMs !== undefined) fs.utimesSync(fsPath(dest), entry.mtimeMs / 1000, entry.mtimeMs / 1000);
}
