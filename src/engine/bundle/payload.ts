import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import { safeJoin } from '../../fs-safety/safe-path.js';
import type { BundleRecord } from '../../store/bundles.js';

/**
 * Where a bundle holds the captured bytes of one entry: under `payload/`, or, for NemoClaw's own
 * bundles, beside the manifest (the record's payloadDir says which).
 */
export function payloadFile(record: Pick<BundleRecord, 'payloadDir'>, entry: Pick<BundleEntry, 'path'>): string {
  return safeJoin(record.payloadDir, entry.path);
}
