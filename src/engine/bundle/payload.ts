import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import { safeJoin } from '../../fs-safety/safe-path.js';
import { bundlePayloadDir, type BundleRecord } from '../../store/bundles.js';

/**
 * Where a bundle holds the captured bytes of one entry. The browse commands read payload files only
 * through this, so a bundle format that lays its files out differently (NemoClaw's legacy bundles
 * keep them beside the manifest) needs one change here.
 */
export function payloadFile(record: Pick<BundleRecord, 'dir'>, entry: Pick<BundleEntry, 'path'>): string {
  return safeJoin(bundlePayloadDir(record.dir), entry.path);
}
