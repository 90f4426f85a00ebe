import fs from 'node:fs';
import path from 'node:path';
import { ClawbackError, ExitCode, MalformedManifestError } from '../errors.js';
import {
  MANIFEST_FILE,
  PAYLOAD_DIR,
  parseBundleHeader,
  parseBundleManifest,
  type BundleHeader,
  type BundleManifest,
} from '../manifest/bundle-manifest.js';
import { isNemoClawManifest, nemoclawHeader, parseNemoClawManifest, type NemoClawManifest } from '../manifest/nemoclaw-manifest.js';
import { isRecord } from '../records.js';
import { collectInventory, inlineInventory, sidecarInventory, type Inventory } from './inventory-reader.js';
import { direntsIn } from './dirs.js';
import { fileIdentity, HeaderCache } from './header-cache.js';
import { parseBundleTimestamp } from './home.js';
import { shortIdOf } from './short-id.js';

export const PARTIAL_SUFFIX = '.partial';

/** How a manifest with its entries inline (written before the sidecar) begins its inventory. */
const INLINE_ENTRIES = '\n "entries": [';

export type BundleState = 'complete' | 'partial' | 'corrupt';

/** One directory under a sandbox's bundle dir, as found on disk. Corrupt and partial ones are reported, never dropped. */
export interface BundleRecord {
  /** The directory name: the timestamp, with `.partial` for an unfinished bundle. */
  id: string;
  /** 8 hex characters derived from the sandbox and the timestamp (store/short-id.ts); a selector accepts a prefix of ≥ 4. */
  shortId: string;
  dir: string;
  timestamp: string;
  time: Date | undefined;
  state: BundleState;
  /** vN over complete bundles in timestamp order; undefined for partial/corrupt ones. */
  version: number | undefined;
  /** The manifest without its inventory, read when listing. */
  header: BundleHeader | undefined;
  /** Where the captured files are: `<dir>/payload`, or the bundle dir itself for a NemoClaw bundle. */
  payloadDir: string;
  /** Set on a bundle NemoClaw wrote (format nemoclaw-v1): its own manifest. */
  legacy: NemoClawManifest | undefined;
  /**
   * The whole manifest, parsed on first use (listing does not need it). Throws
   * the manifest's own integrity error if the inventory is damaged.
   */
  readonly manifest: BundleManifest | undefined;
  problem: ClawbackError | undefined;
  /**
   * Which manifest file the header was read from (store/header-cache.ts fileIdentity), for caches of
   * what is derived from it; undefined for NemoClaw bundles and where there is no readable header.
   */
  manifestIdentity?: string;
}

export function bundlePayloadDir(dir: string): string {
  return path.join(dir, PAYLOAD_DIR);
}

/** The whole manifest, its inventory in arrays: for readers that need random access to every entry. */
export function readBundleManifest(dir: string): BundleManifest {
  const file = path.join(dir, MANIFEST_FILE);
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes(INLINE_ENTRIES)) {
    const header = parseBundleHeader(text, file);
    if (header.inventory !== undefined) {
      const { entries, skipped } = collectInventory(sidecarInventory(dir, header.inventory, header.contentSha256 ?? ''));
      const { contentSha256: checksum, ...rest } = header;
      return { ...rest, entries, skipped, contentSha256: checksum ?? '' };
    }
  }
  return parseBundleManifest(text, file);
}

/**
 * A bundle's inventory, read one entry at a time (the sidecar) or from the manifest it is inline
 * in (bundles written before the sidecar); either way checked against its contentSha256 once read.
 */
export function openInventory(dir: string, header?: BundleHeader): Inventory {
  const file = path.join(dir, MANIFEST_FILE);
  let known = header;
  if (known?.inventory === undefined) {
    const text = fs.readFileSync(file, 'utf8');
    known = text.includes(INLINE_ENTRIES) ? undefined : parseBundleHeader(text, file);
    if (known?.inventory === undefined) {
      const manifest = parseBundleManifest(text, file);
      return inlineInventory(manifest.entries, manifest.skipped, { value: manifest.contentSha256, file });
    }
  }
  return sidecarInventory(dir, known.inventory, known.contentSha256 ?? '');
}

/** A record's inventory: a NemoClaw bundle's is synthesised from its files (through the record), a clawback bundle's read from disk. */
export function recordInventory(record: BundleRecord): Inventory {
  if (record.legacy !== undefined) {
    const manifest = record.manifest;
    if (manifest === undefined) throw new MalformedManifestError(`${record.dir}: no manifest`);
    return inlineInventory(manifest.entries, manifest.skipped);
  }
  return openInventory(record.dir, record.header);
}

/**
 * How the engine reads NemoClaw bundles (engine/bundle/nemoclaw.ts): their totals for listing and
 * their inventory, synthesised from the files beside the manifest. Without it they list with no totals.
 */
export interface LegacyReader {
  totals(dir: string, manifest: NemoClawManifest): { files: number; bytes: number };
  inventory(dir: string, header: BundleHeader, manifest: NemoClawManifest): BundleManifest;
}

/** One buffer for every header read: a fresh 64 KiB per bundle made a list of 500 mostly garbage collection. */
let headerBuffer: Buffer | undefined;

interface HeaderRead {
  header: BundleHeader;
  legacy?: NemoClawManifest;
  /** fileIdentity of the manifest, taken from the descriptor the header was read through. */
  identity: string;
}

function readBundleHeader(dir: string, legacy: LegacyReader | undefined): HeaderRead {
  const file = childPath(dir, MANIFEST_FILE);
  const fd = fs.openSync(file, 'r');
  let text: string;
  let identity: string;
  try {
    identity = fileIdentity(fs.fstatSync(fd));
    // The header normally fits in the first 64 KiB; the parser falls back to the whole file if not.
    const buffer = (headerBuffer ??= Buffer.allocUnsafe(64 * 1024));
    const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
    text = buffer.subarray(0, read).toString('utf8');
    if (read === buffer.length && !text.includes(INLINE_ENTRIES)) text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  // clawback always writes an inventory; a manifest without one may be NemoClaw's own.
  if (!text.includes('"entries"') && !text.includes('"inventory"')) {
    const nemoclaw = nemoclawManifestIn(text, file);
    if (nemoclaw) return { header: nemoclawHeader(nemoclaw, legacy?.totals(dir, nemoclaw) ?? { files: 0, bytes: 0 }), legacy: nemoclaw, identity };
  }
  return { header: parseBundleHeader(text, file), identity };
}

/** A bundle's header: from the cache while its manifest is the file it was read from, else read (and cached when it is clawback's). */
function headerOf(dir: string, id: string, legacy: LegacyReader | undefined, cache: HeaderCache): HeaderRead {
  const stat = fs.statSync(childPath(dir, MANIFEST_FILE), { throwIfNoEntry: false });
  if (stat !== undefined) {
    const identity = fileIdentity(stat);
    const header = cache.lookup(id, identity);
    if (header !== undefined) return { header, identity };
  }
  const read = readBundleHeader(dir, legacy);
  if (read.legacy === undefined) cache.remember(id, read.identity, read.header);
  return read;
}

function nemoclawManifestIn(text: string, file: string): NemoClawManifest | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isRecord(raw) && isNemoClawManifest(raw) ? parseNemoClawManifest(raw, file) : undefined;
}

function makeRecord(fields: Omit<BundleRecord, 'manifest'>, legacy: LegacyReader | undefined): BundleRecord {
  let cached: BundleManifest | undefined;
  return Object.defineProperty(fields, 'manifest', {
    enumerable: true,
    get(): BundleManifest | undefined {
      if (fields.header === undefined) return undefined;
      if (fields.legacy !== undefined) {
        if (legacy === undefined) throw new Error('a NemoClaw bundle is read through the engine (sandboxRecords)');
        cached ??= legacy.inventory(fields.dir, fields.header, fields.legacy);
      }
      cached ??= readBundleManifest(fields.dir);
      return cached;
    },
  }) as BundleRecord;
}

/**
 * path.join(dir, name) for a normalised dir and a name readdir gave (or a constant one): neither has a
 * slash nor is `.` or `..`, so there is nothing to normalise (1,500 joins were ~10 ms of a list of 500).
 */
function childPath(dir: string, name: string): string {
  return dir === '.' || dir.endsWith('/') ? path.join(dir, name) : `${dir}/${name}`;
}

export function listBundles(sandboxDir: string, legacy?: LegacyReader): BundleRecord[] {
  const records: BundleRecord[] = [];
  const sandbox = path.basename(sandboxDir);
  const root = path.normalize(sandboxDir);
  const cache = HeaderCache.open(sandboxDir);
  // The entries' types come with the names (no lstat per bundle; node lstats a name whose type the filesystem does not give).
  for (const entry of direntsIn(sandboxDir)) {
    const name = entry.name;
    if (name.startsWith('.') || !entry.isDirectory()) continue;
    const dir = childPath(root, name);
    const partial = name.endsWith(PARTIAL_SUFFIX);
    const timestamp = partial ? name.slice(0, -PARTIAL_SUFFIX.length) : name;
    const fields: Omit<BundleRecord, 'manifest'> = {
      id: name,
      shortId: shortIdOf(sandbox, timestamp),
      dir,
      timestamp,
      time: parseBundleTimestamp(timestamp),
      state: partial ? 'partial' : 'complete',
      version: undefined,
      header: undefined,
      payloadDir: childPath(dir, PAYLOAD_DIR),
      legacy: undefined,
      problem: undefined,
    };
    if (!partial) {
      try {
        const read = headerOf(dir, name, legacy, cache);
        fields.header = read.header;
        if (read.legacy !== undefined) {
          fields.legacy = read.legacy;
          fields.payloadDir = dir;
        } else fields.manifestIdentity = read.identity;
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
    records.push(makeRecord(fields, legacy));
  }
  cache.save();
  records.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.id < b.id ? -1 : 1));
  let version = 0;
  for (const record of records) if (record.state === 'complete') record.version = ++version;
  return records;
}

export function completeBundles(records: BundleRecord[]): Array<BundleRecord & { header: BundleHeader }> {
  return records.filter((r): r is BundleRecord & { header: BundleHeader } => r.state === 'complete' && r.header !== undefined);
}
