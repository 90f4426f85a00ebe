import fs from 'node:fs';
import path from 'node:path';
import type { BundleHeader } from '../manifest/bundle-manifest.js';
import { isRecord } from '../records.js';
import { tempSibling } from './atomic.js';

/**
 * The directory, under a sandbox's bundle dir, of the caches of what listing derives from the
 * manifests (its name starts with a dot, so it is never taken for a bundle).
 */
export const LIST_CACHE_DIR = '.space-cache';
/** The files in LIST_CACHE_DIR that are not a bundle's digest (engine/bundle/space.ts keeps them when it forgets stale digests). */
export const HEADERS_CACHE_FILE = 'headers.json';
const FORMAT = 1;

/**
 * Which file a manifest is: its inode, size, modification and change times. Bundles are published
 * by rename and never edited, and any rewrite of the file (a rename over it, an edit in place, a
 * `touch`) changes this; ctime cannot be set back. What was read from a file with this identity
 * holds for as long as the identity is the same.
 */
export function fileIdentity(stat: fs.Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

interface Cached {
  identity: string;
  header: BundleHeader;
}

/**
 * The headers of a sandbox's bundles, kept in one file so that a list of hundreds of bundles reads
 * one file and stats each manifest instead of opening and parsing every one. A header is used only
 * when the manifest's identity (fileIdentity) is the one it was read with; NemoClaw bundles (whose
 * listed totals come from their files) and unreadable manifests are never cached. A cache: written
 * by rename without fsync, any failure to read or write it (a read-only home) only costs the reads.
 */
export class HeaderCache {
  private readonly next = new Map<string, Cached>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly known: Map<string, Cached>,
  ) {}

  static open(sandboxDir: string): HeaderCache {
    const file = path.join(sandboxDir, LIST_CACHE_DIR, HEADERS_CACHE_FILE);
    return new HeaderCache(file, readCache(file));
  }

  /** The header read from bundle `id`'s manifest when it had this identity, if cached. */
  lookup(id: string, identity: string): BundleHeader | undefined {
    const cached = this.known.get(id);
    if (cached === undefined || cached.identity !== identity) return undefined;
    this.next.set(id, cached);
    return cached.header;
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
    if (!this.changed && this.next.size === this.known.size) return;
    const temp = tempSibling(this.file);
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(temp, JSON.stringify({ format: FORMAT, bundles: Object.fromEntries(this.next) }), { mode: 0o600 });
      fs.renameSync(temp, this.file);
    } catch {
      fs.rmSync(temp, { force: true });
    }
  }
}

function readCache(file: string): Map<string, Cached> {
  const known = new Map<string, Cached>();
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return known; // none yet, or damaged: every header is read from its manifest
  }
  if (!isRecord(raw) || raw.format !== FORMAT || !isRecord(raw.bundles)) return known;
  for (const [id, entry] of Object.entries(raw.bundles)) {
    // Written only by remember(), from headers the manifest parser returned.
    if (isRecord(entry) && typeof entry.identity === 'string' && isRecord(entry.header)) known.set(id, entry as unknown as Cached);
  }
  return known;
}
