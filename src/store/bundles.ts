import fs from 'node:fs';
import path from 'node:path';
import { ClawbackError, ExitCode } from '../errors.js';
import {
  MANIFEST_FILE,
  PAYLOAD_DIR,
  parseBundleHeader,
  parseBundleManifest,
  type BundleHeader,
  type BundleManifest,
} from '../manifest/bundle-manifest.js';
import { namesIn } from './dirs.js';
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
  /** The manifest without its inventory, read when listing. */
  header: BundleHeader | undefined;
  /**
   * The whole manifest, parsed on first use (listing does not need it). Throws
   * the manifest's own integrity error if the inventory is damaged.
   */
  readonly manifest: BundleManifest | undefined;
  problem: ClawbackError | undefined;
}

export function bundlePayloadDir(dir: string): string {
  return path.join(dir, PAYLOAD_DIR);
}

export function readBundleManifest(dir: string): BundleManifest {
  const file = path.join(dir, MANIFEST_FILE);
  return parseBundleManifest(fs.readFileSync(file, 'utf8'), file);
}

function readBundleHeader(dir: string): BundleHeader {
  const file = path.join(dir, MANIFEST_FILE);
  const fd = fs.openSync(file, 'r');
  let text: string;
  try {
    // The header normally fits in the first 64 KiB; the parser falls back to the whole file if not.
    const buffer = Buffer.allocUnsafe(64 * 1024);
    const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
    text = buffer.subarray(0, read).toString('utf8');
    if (read === buffer.length && !text.includes('\n "entries": [')) text = fs.readFileSync(file, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  return parseBundleHeader(text, file);
}

function makeRecord(fields: Omit<BundleRecord, 'manifest'>): BundleRecord {
  let cached: BundleManifest | undefined;
  return Object.defineProperty(fields, 'manifest', {
    enumerable: true,
    get(): BundleManifest | undefined {
      if (fields.header === undefined) return undefined;
      cached ??= readBundleManifest(fields.dir);
      return cached;
    },
  }) as BundleRecord;
}

export function listBundles(sandboxDir: string): BundleRecord[] {
  const records: BundleRecord[] = [];
  for (const name of namesIn(sandboxDir)) {
    if (name.startsWith('.')) continue;
    const dir = path.join(sandboxDir, name);
    const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) continue;
    const partial = name.endsWith(PARTIAL_SUFFIX);
    const timestamp = partial ? name.slice(0, -PARTIAL_SUFFIX.length) : name;
    const fields: Omit<BundleRecord, 'manifest'> = {
      id: name,
      dir,
      timestamp,
      time: parseBundleTimestamp(timestamp),
      state: partial ? 'partial' : 'complete',
      version: undefined,
      header: undefined,
      problem: undefined,
    };
    if (!partial) {
      try {
        fields.header = readBundleHeader(dir);
        if (!fields.header.backupComplete) fields.state = 'partial';
      } catch (error) {
        if (error instanceof ClawbackError) {
          fields.state = 'corrupt';
          fields.problem = error;
        } else if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          fields.state = 'corrupt';
          fields.problem = new ClawbackError('malformed-manifest', ExitCode.integrity, `${dir}: ${MANIFEST_FILE} is missing`);
        } else {
          throw error;
        }
      }
    }
    records.push(makeRecord(fields));
  }
  records.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.id < b.id ? -1 : 1));
  let version = 0;
  for (const record of records) if (record.state === 'complete') record.version = ++version;
  return records;
}

export function completeBundles(records: BundleRecord[]): Array<BundleRecord & { header: BundleHeader }> {
  return records.filter((r): r is BundleRecord & { header: BundleHeader } => r.state === 'complete' && r.header !== undefined);
}
