import fs from 'node:fs';
import path from 'node:path';
import { ClawbackError } from '../errors.js';
import { MANIFEST_FILE, PAYLOAD_DIR, parseBundleManifest, type BundleManifest } from '../manifest/bundle-manifest.js';
import { parseBundleTimestamp } from './home.js';

export const PARTIAL_SUFFIX = '.partial';

export type BundleState = 'complete' | 'partial' | 'corrupt';

/** One directory under a sandbox's bundle dir, as found on disk. Corrupt and partial ones are reported, never dropped. */
export interface BundleRecord {
  id: string;
  dir: string;
  timestamp: string;
  time: Date | undefined;
  state: BundleState;
  /** vN over complete bundles in timestamp order; undefined for partial/corrupt ones. */
  version: number | undefined;
  manifest: BundleManifest | undefined;
  problem: ClawbackError | undefined;
}

export function bundlePayloadDir(dir: string): string {
  return path.join(dir, PAYLOAD_DIR);
}

export function readBundleManifest(dir: string): BundleManifest {
  const file = path.join(dir, MANIFEST_FILE);
  return parseBundleManifest(fs.readFileSync(file, 'utf8'), file);
}

export function listBundles(sandboxDir: string): BundleRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(sandboxDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: BundleRecord[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const dir = path.join(sandboxDir, name);
    const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) continue;
    const partial = name.endsWith(PARTIAL_SUFFIX);
    const timestamp = partial ? name.slice(0, -PARTIAL_SUFFIX.length) : name;
    const record: BundleRecord = {
      id: name,
      dir,
      timestamp,
      time: parseBundleTimestamp(timestamp),
      state: partial ? 'partial' : 'complete',
      version: undefined,
      manifest: undefined,
      problem: undefined,
    };
    if (!partial) {
      try {
        record.manifest = readBundleManifest(dir);
        if (!record.manifest.backupComplete) record.state = 'partial';
      } catch (error) {
        if (error instanceof ClawbackError) {
          record.state = 'corrupt';
          record.problem = error;
        } else if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          record.state = 'corrupt';
          record.problem = new ClawbackError('malformed-manifest', 6, `${dir}: ${MANIFEST_FILE} is missing`);
        } else {
          throw error;
        }
      }
    }
    records.push(record);
  }
  records.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.id < b.id ? -1 : 1));
  let version = 0;
  for (const record of records) if (record.state === 'complete') record.version = ++version;
  return records;
}

export function completeBundles(records: BundleRecord[]): Array<BundleRecord & { manifest: BundleManifest }> {
  return records.filter((r): r is BundleRecord & { manifest: BundleManifest } => r.state === 'complete' && r.manifest !== undefined);
}
