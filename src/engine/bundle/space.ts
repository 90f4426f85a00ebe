import fs from 'node:fs';
import { fsPath, readDirents, type NamedDirent } from '../../fs-safety/fs-path.js';
import path from 'node:path';
import { ClawbackError } from '../../errors.js';
import { isRecord } from '../../records.js';
import { MANIFEST_FILE, type BundleEntry } from '../../manifest/bundle-manifest.js';
import { writeCacheFile } from '../../store/atomic.js';
import { openInventory, type BundleRecord } from '../../store/bundles.js';
import { HEADERS_CACHE_FILE, LIST_CACHE_DIR } from '../../store/header-cache.js';
import { walkNemoClawBundle } from './nemoclaw.js';
import { capturedIdentity } from './source-identity.js';

/**
 * How much disk the bundles of a sandbox take, counting a file hard-linked
 * into several bundles once. Sizes are file bytes (apparent size) of payload files.
 */
export interface SpaceUsage {
  /** Bytes of payload files held by this bundle alone, by bundle id. */
  uniqueBytes: Map<string, number>;
  /** Bytes and files of every distinct payload file, shared ones counted once. */
  bytes: number;
  files: number;
  /** 'manifests': inferred from the inventories (fast); 'inodes': lstat of every payload file. */
  method: 'manifests' | 'inodes';
  /** Ids of bundles not counted: partial and corrupt ones have no usable inventory (manifests method only). */
  uncounted: string[];
}

/** The last result of spaceFromManifests, beside the digests, with the records it is for. */
const SUMMARY_FILE = 'summary.json';

export function spaceCacheDir(sandboxDir: string): string {
  return path.join(sandboxDir, LIST_CACHE_DIR);
}

/** Drop the cached digests of bundles that are gone; a leftover would only cost disk, never a wrong number. */
export function forgetStaleDigests(sandboxDir: string): void {
  const cacheDir = spaceCacheDir(sandboxDir);
  let names: string[];
  try {
    names = fs.readdirSync(cacheDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === SUMMARY_FILE || name === HEADERS_CACHE_FILE) continue;
    const id = name.slice(0, name.indexOf('.bin'));
    if (!fs.existsSync(path.join(sandboxDir, id))) fs.rmSync(path.join(cacheDir, name), { force: true });
  }
}

/**
 * Which files a snapshot hard-linked follows from the manifests alone: create links a
 * file when the newest complete bundle before it lists the same path with the same
 * source identity (`stillAsCaptured`). Walking the complete bundles in order and chaining each file to its
 * predecessor's therefore finds the shared files without one stat. It overcounts sharing
 * only where a link failed (the link limit), or where a bundle that lacked a file (a
 * partial --only snapshot) has since been deleted from between two that hold separate
 * copies of it; `spaceFromInodes` is exact. Imported bundles were written by copying,
 * so they start fresh chains.
 *
 * Parsing 500 inventories costs over a second, so each bundle's inventory is reduced
 * once to a digest (path hash, identity hash, size per file) cached in `cacheDir`;
 * bundles never change once published, so the digest stays valid for as long as the
 * manifest file is the same one. The result itself is kept too (SUMMARY_FILE), for as long as
 * the records are the same bundles with the same manifests (a list of 500 bundles then reads one
 * small file instead of 500 digests).
 */
export function spaceFromManifests(records: readonly BundleRecord[], cacheDir: string): SpaceUsage {
  const key = summaryKey(records);
  const cached = key === undefined ? undefined : readSummary(cacheDir, key);
  if (cached !== undefined) return cached;
  const space = chainDigests(records, cacheDir);
  // Only a result every complete bundle counted in: a damaged inventory is tried again next time, as its digest is.
  const complete = records.filter((r) => r.state === 'complete').map((r) => r.id);
  if (key !== undefined && !complete.some((id) => space.uncounted.includes(id))) writeSummary(cacheDir, key, space);
  return space;
}

function chainDigests(records: readonly BundleRecord[], cacheDir: string): SpaceUsage {
  const uncounted: string[] = [];
  const groupSize: number[] = [];
  const groupOwner: string[] = [];
  const groupShared: boolean[] = [];
  let previous: { digest: Digest; groups: Int32Array } | undefined;
  for (const record of records) {
    const digest = record.state === 'complete' ? loadDigest(record, cacheDir) : undefined;
    if (digest === undefined) {
      uncounted.push(record.id);
      continue;
    }
    const groups = new Int32Array(digest.count);
    const chain = previous !== undefined && record.header?.origin === undefined ? previous : undefined;
    let j = 0;
    for (let i = 0; i < digest.count; i++) {
      const pathHash = digest.pathHash[i]!;
      let group = -1;
      if (chain !== undefined && digest.keyHash[i] !== 0) {
        while (j < chain.digest.count && chain.digest.pathHash[j]! < pathHash) j++;
        if (j < chain.digest.count && chain.digest.pathHash[j] === pathHash && chain.digest.keyHash[j] === digest.keyHash[i]) {
          group = chain.groups[j]!;
          groupShared[group] = true;
        }
      }
      if (group < 0) {
        group = groupSize.length;
        groupSize.push(digest.size[i]!);
        groupOwner.push(record.id);
        groupShared.push(false);
      }
      groups[i] = group;
    }
    previous = { digest, groups };
  }
  const uniqueBytes = new Map<string, number>();
  for (const record of records) if (!uncounted.includes(record.id)) uniqueBytes.set(record.id, 0);
  let bytes = 0;
  for (let g = 0; g < groupSize.length; g++) {
    bytes += groupSize[g]!;
    if (!groupShared[g]) uniqueBytes.set(groupOwner[g]!, (uniqueBytes.get(groupOwner[g]!) ?? 0) + groupSize[g]!);
  }
  return { uniqueBytes, bytes, files: groupSize.length, method: 'manifests', uncounted };
}

/** Exact: lstat every payload file of every bundle (partial ones included) and count each inode once. */
export function spaceFromInodes(records: readonly BundleRecord[]): SpaceUsage {
  const byInode = new Map<string, { size: number; owner: string; shared: boolean }>();
  for (const record of records) {
    const walk = (dir: string): void => {
      let dirents: NamedDirent[];
      try {
        dirents = readDirents(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const { name, dirent } of dirents) {
        const full = path.join(dir, name);
        if (dirent.isDirectory()) {
          walk(full);
          continue;
        }
        if (dirent.isSymbolicLink()) continue;
        const stat = fs.lstatSync(fsPath(full), { bigint: true, throwIfNoEntry: false });
        if (!stat?.isFile()) continue;
        const inode = `${stat.dev}:${stat.ino}`;
        const holding = byInode.get(inode);
        if (holding === undefined) byInode.set(inode, { size: Number(stat.size), owner: record.id, shared: false });
        else if (holding.owner !== record.id) holding.shared = true;
      }
    };
    walk(record.payloadDir);
  }
  const uniqueBytes = new Map<string, number>(records.map((r) => [r.id, 0]));
  let bytes = 0;
  for (const holding of byInode.values()) {
    bytes += holding.size;
    if (!holding.shared) uniqueBytes.set(holding.owner, (uniqueBytes.get(holding.owner) ?? 0) + holding.size);
  }
  return { uniqueBytes, bytes, files: byInode.size, method: 'inodes', uncounted: [] };
}

/**
 * What the result depends on: each record's id, state and manifest file (store/header-cache.ts
 * fileIdentity), and how digests are made. undefined with a NemoClaw bundle, which is counted from its files.
 */
function summaryKey(records: readonly BundleRecord[]): string | undefined {
  let key = `digest v${DIGEST_VERSION}`;
  for (const record of records) {
    if (record.legacy !== undefined) return undefined;
    key += `\n${record.id} ${record.state} ${record.manifestIdentity ?? '-'}`;
  }
  return key;
}

interface Summary {
  key: string;
  uniqueBytes: Array<[string, number]>;
  bytes: number;
  files: number;
  uncounted: string[];
}

function readSummary(cacheDir: string, key: string): SpaceUsage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(cacheDir, SUMMARY_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const raw = parsed as Partial<Summary>;
  if (raw.key !== key || !Array.isArray(raw.uniqueBytes) || typeof raw.bytes !== 'number' || typeof raw.files !== 'number' || !Array.isArray(raw.uncounted)) return undefined;
  return { uniqueBytes: new Map(raw.uniqueBytes), bytes: raw.bytes, files: raw.files, method: 'manifests', uncounted: raw.uncounted };
}

/** A cache, as the digests are: written by rename without fsync; a failure to write it is ignored. */
function writeSummary(cacheDir: string, key: string, space: SpaceUsage): void {
  const file = path.join(cacheDir, SUMMARY_FILE);
  const summary: Summary = { key, uniqueBytes: [...space.uniqueBytes], bytes: space.bytes, files: space.files, uncounted: space.uncounted };
  writeCacheFile(file, JSON.stringify(summary));
}

/** One bundle's files sorted by path hash: each file's link identity hash (0: never linked) and size. */
interface Digest {
  count: number;
  pathHash: Float64Array;
  keyHash: Float64Array;
  size: Float64Array;
}

const DIGEST_MAGIC = 0x5350414345; // "SPACE"
const DIGEST_VERSION = 3;
const HEADER_WORDS = 6;

/**
 * For snapshot create, right after publishing a bundle: cache its digest from the entries it
 * still holds, so the next `snapshot list` need not parse that inventory (~0.3 s on a large home).
 */
export function cacheSpaceDigest(sandboxDir: string, id: string, rows: DigestRows | Iterable<BundleEntry>): void {
  const stat = fs.statSync(path.join(sandboxDir, id, MANIFEST_FILE), { throwIfNoEntry: false });
  const digest = rows instanceof DigestRows ? rows.digest() : computeDigest(rows);
  if (stat) writeDigest(path.join(spaceCacheDir(sandboxDir), `${id}.bin`), [stat.size, stat.mtimeMs, stat.ino], digest);
}

/** A digest gathered one entry at a time (create feeds it as its inventory streams out): three numbers per file. */
export class DigestRows {
  private pathHash: number[] = [];
  private keyHash: number[] = [];
  private size: number[] = [];

  add(entry: BundleEntry): void {
    if (entry.type !== 'file') return;
    this.pathHash.push(hash53(entry.path));
    this.keyHash.push(linkKeyHash(entry));
    this.size.push(entry.size ?? 0);
  }

  digest(): Digest {
    const count = this.pathHash.length;
    const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => this.pathHash[a]! - this.pathHash[b]!);
    return {
      count,
      pathHash: Float64Array.from(order, (i) => this.pathHash[i]!),
      keyHash: Float64Array.from(order, (i) => this.keyHash[i]!),
      size: Float64Array.from(order, (i) => this.size[i]!),
    };
  }
}

function loadDigest(record: BundleRecord, cacheDir: string): Digest | undefined {
  // A NemoClaw bundle has no inventory to cache and shares no file: its own files, by lstat.
  if (record.legacy !== undefined) return computeDigest(walkNemoClawBundle(record.dir, record.legacy, { hash: false }).entries);
  const stat = fs.statSync(path.join(record.dir, MANIFEST_FILE), { throwIfNoEntry: false });
  if (!stat) return undefined;
  const identity = [stat.size, stat.mtimeMs, stat.ino];
  const file = path.join(cacheDir, `${record.id}.bin`);
  const cached = readDigest(file, identity);
  if (cached) return cached;
  let digest: Digest;
  try {
    // Streamed here rather than read through the record, which would keep the inventory in memory.
    digest = computeDigest(openInventory(record.dir, record.header).entries());
  } catch (error) {
    // A damaged inventory: verify reports it; here the bundle is just not counted.
    if (error instanceof ClawbackError) return undefined;
    throw error;
  }
  writeDigest(file, identity, digest);
  return digest;
}

function computeDigest(entries: Iterable<BundleEntry>): Digest {
  const rows = new DigestRows();
  for (const entry of entries) rows.add(entry);
  return rows.digest();
}

/** Hash of the content and source identity create compares before linking (`stillAsCaptured`); 0 for files it never links. */
function linkKeyHash(entry: BundleEntry): number {
  const identity = capturedIdentity(entry);
  if (identity === undefined) return 0;
  return hash53(`${entry.sha256}\0${identity}`) || 1;
}

/** Digests are read through one buffer: a small one (most) in a single read, with no fstat and no allocation per bundle. */
const DIGEST_READ_BYTES = 256 * 1024;
let digestBuffer: Float64Array | undefined;

/** The digest file's words: read whole into the shared buffer when it fits, else into its own array (its size from fstat). */
function readWords(fd: number): Float64Array | undefined {
  const shared = (digestBuffer ??= new Float64Array(DIGEST_READ_BYTES / 8));
  const read = fs.readSync(fd, new Uint8Array(shared.buffer), 0, DIGEST_READ_BYTES, 0);
  if (read < DIGEST_READ_BYTES) return read % 8 === 0 ? shared.slice(0, read / 8) : undefined;
  const size = fs.fstatSync(fd).size;
  if (size % 8 !== 0) return undefined;
  // Read straight into a Float64Array's own (8-byte aligned) memory.
  const words = new Float64Array(size / 8);
  return fs.readSync(fd, new Uint8Array(words.buffer), 0, size, 0) === size ? words : undefined;
}

function readDigest(file: string, identity: number[]): Digest | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  let read: Float64Array | undefined;
  try {
    read = readWords(fd);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
  if (read === undefined || read.length < HEADER_WORDS) return undefined;
  const words = read;
  const count = words[2]!;
  if (words[0] !== DIGEST_MAGIC || words[1] !== DIGEST_VERSION || words.length !== HEADER_WORDS + 3 * count) return undefined;
  if (words[3] !== identity[0] || words[4] !== identity[1] || words[5] !== identity[2]) return undefined;
  const at = (k: number): Float64Array => words.subarray(HEADER_WORDS + k * count, HEADER_WORDS + (k + 1) * count);
  return { count, pathHash: at(0), keyHash: at(1), size: at(2) };
}

/** A cache: written without fsync, and any failure to write it (read-only home) is ignored. */
function writeDigest(file: string, identity: number[], digest: Digest): void {
  const words = new Float64Array(HEADER_WORDS + 3 * digest.count);
  words.set([DIGEST_MAGIC, DIGEST_VERSION, digest.count, ...identity]);
  words.set(digest.pathHash, HEADER_WORDS);
  words.set(digest.keyHash, HEADER_WORDS + digest.count);
  words.set(digest.size, HEADER_WORDS + 2 * digest.count);
  writeCacheFile(file, new Uint8Array(words.buffer));
}

/** cyrb53: a fast 53-bit string hash; collisions only blur the accounting, never data. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
