import fs from 'node:fs';
import path from 'node:path';
import type { BundleHeader } from '../manifest/bundle-manifest.js';
import { isRecord } from '../records.js';
import { writeCacheFile } from './atomic.js';

/**
 * The directory, under a sandbox's bundle dir, of the caches of what listing derives from the
 * manifests (its name starts with a dot, so it is never taken for a bundle).
 */
export const LIST_CACHE_DIR = '.space-cache';
/** The files in LIST_CACHE_DIR that are not a bundle's digest (engine/bundle/space.ts keeps them when it forgets stale digests). */
export const HEADERS_CACHE_FILE = 'headers.json';
const FORMAT = 2;

/**
 * Which file a manifest is: its inode, size, modification and change times. Bundles are published
 * by rename and never edited, and any rewrite of the file (a rename over it, an edit in place, a
 * `touch`) changes this; ctime cannot be set back. What was read from a file with this identity
 * holds for as long as the identity is the same.
 */
export function fileIdentity(stat: fs.Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/**
 * On disk, each header is its fields in order, every value an index into one table of the distinct
 * values: bundles of a sandbox repeat most of their header (its directories, modules, databases),
 * so the file is a quarter of the headers' size, and reading it parses each repeated value once.
 */
interface CacheFile {
  format: number;
  values: unknown[];
  /** Per bundle id: the manifest's identity, then the header's keys and value indexes, alternating. */
  bundles: Record<string, [string, ...Array<string | number>]>;
}

/**
 * The headers of a sandbox's bundles, kept in one file so that a list of hundreds of bundles reads
 * one file and stats each manifest instead of opening and parsing every one. A header is used only
 * when the manifest's identity (fileIdentity) is the one it was read with; NemoClaw bundles (whose
 * listed totals come from their files) and unreadable manifests are never cached. A cache: written
 * by rename without fsync, any failure to read or write it (a read-only home) only costs the reads.
 */
export class HeaderCache {
  private readonly next = new Map<string, { identity: string; header: BundleHeader }>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly known: CacheFile,
  ) {}

  static open(sandboxDir: string): HeaderCache {
    const file = path.join(sandboxDir, LIST_CACHE_DIR, HEADERS_CACHE_FILE);
    return new HeaderCache(file, readCache(file));
  }

  /** The header read from bundle `id`'s manifest when it had this identity, if cached. */
  lookup(id: string, identity: string): BundleHeader | undefined {
    const row = Object.hasOwn(this.known.bundles, id) ? this.known.bundles[id] : undefined;
    if (row === undefined || row[0] !== identity) return undefined;
    const header = decodeHeader(row, this.known.values);
    if (header === undefined) return undefined;
    this.next.set(id, { identity, header });
    return header;
  }

  /** Keeps a header just read from a manifest with this identity (fstat of the descriptor it was read through). */
  remember(id: string, identity: string, header: BundleHeader): void {
    // Only what JSON gives back as it was: totals are the one place a header holds a number it computed.
    if (!Number.isFinite(header.totals.files) || !Number.isFinite(header.totals.bytes)) return;
    this.next.set(id, { identity, header });
    this.changed = true;
  }

  /** Writes the cache if it now holds other bundles than it did (new, changed or deleted ones). */
  save(): void {
    if (!this.changed && this.next.size === Object.keys(this.known.bundles).length) return;
    writeCacheFile(this.file, JSON.stringify(encode(this.next)));
  }
}

function encode(headers: Map<string, { identity: string; header: BundleHeader }>): CacheFile {
  const values: unknown[] = [];
  const indexOf = new Map<string, number>();
  const bundles: CacheFile['bundles'] = {};
  for (const [id, { identity, header }] of headers) {
    const row: [string, ...Array<string | number>] = [identity];
    for (const [key, value] of Object.entries(header)) {
      if (value === undefined) continue;
      const text = JSON.stringify(value);
      let index = indexOf.get(text);
      if (index === undefined) {
        index = values.push(value) - 1;
        indexOf.set(text, index);
      }
      row.push(key, index);
    }
    bundles[id] = row;
  }
  return { format: FORMAT, values, bundles };
}

/** A header from its row; each value a copy, so no two headers share an array or object. undefined for a damaged row. */
function decodeHeader(row: ReadonlyArray<string | number>, values: readonly unknown[]): BundleHeader | undefined {
  const header: Record<string, unknown> = {};
  for (let i = 1; i + 1 < row.length; i += 2) {
    const key = row[i];
    const index = row[i + 1];
    if (typeof key !== 'string' || typeof index !== 'number' || !(index >= 0 && index < values.length)) return undefined;
    setField(header, key, copyJson(values[index]));
  }
  // Written only from headers the manifest parser returned (remember()).
  return header as unknown as BundleHeader;
}

/** An own field, as JSON.parse makes it (a key `__proto__` too, which plain assignment would take for the prototype). */
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = copyJson(value[i]);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setField(copy, key, copyJson((value as Record<string, unknown>)[key]));
  return copy;
}

function readCache(file: string): CacheFile {
  const none: CacheFile = { format: FORMAT, values: [], bundles: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return none; // none yet, or damaged: every header is read from its manifest
  }
  if (!isRecord(raw) || raw.format !== FORMAT || !Array.isArray(raw.values) || !isRecord(raw.bundles)) return none;
  for (const row of Object.values(raw.bundles)) if (!Array.isArray(row) || typeof row[0] !== 'string') return none;
  return raw as unknown as CacheFile;
}
