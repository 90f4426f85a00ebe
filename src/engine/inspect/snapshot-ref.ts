import { IntegrityError } from '../../errors.js';
import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import { readBundleManifest, type BundleRecord } from '../../store/bundles.js';

/** A snapshot as browse results name it. */
export interface SnapshotRef {
  id: string;
  timestamp: string;
  name: string | null;
  version: number | null;
}

export function snapshotRef(record: BundleRecord): SnapshotRef {
  return { id: record.id, timestamp: record.timestamp, name: record.header?.name ?? null, version: record.version ?? null };
}

/** Compares two POSIX paths segment by segment, so a directory's entries follow it directly (a/b before a-b). */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** The whole manifest of a complete snapshot, read afresh (not kept on the record). */
export function readInventory(record: BundleRecord): BundleManifest {
  if (record.state !== 'complete') {
    throw record.problem ?? new IntegrityError('bundle-incomplete', `${record.id} is an incomplete snapshot: it never finished`, { hint: 'choose a complete one (`snapshot list`)' });
  }
  return manifestOf(record);
}

/**
 * A bundle's manifest, read afresh so a walk over many bundles holds one at a time; a NemoClaw
 * bundle's inventory is synthesised from its files (and kept on its record).
 */
export function manifestOf(record: BundleRecord): BundleManifest {
  return record.legacy !== undefined ? record.manifest! : readBundleManifest(record.dir);
}
