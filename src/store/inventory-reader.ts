import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError, MalformedManifestError, UnsafeEntryPathError } from '../errors.js';
import { ContentHash, contentSha256, parseEntry, pathReasons, type BundleEntry, type SkippedEntry } from '../manifest/bundle-manifest.js';
import { EntryOrder, fileHash, gunzipMember, inventoryDamaged, memberLength, type InventoryRef } from '../manifest/inventory.js';

/** A bundle's inventory, read one entry at a time, whichever form the bundle stores it in. */
export interface Inventory {
  /**
   * Every entry in path order. A damaged inventory (truncated, reordered, a wrong count or
   * checksum) throws an IntegrityError, at the latest once the last entry is read: act on
   * what it yields only after the iteration ends.
   */
  entries(): Iterable<BundleEntry>;
  /** The paths the snapshot left out; complete once entries() has been read to the end. */
  readonly skipped: SkippedEntry[];
}

const HEAD = 20;

/** Where the sidecar's bytes come from: a file, or a buffer (an archive's copy). */
interface ByteSource {
  size: number;
  read(into: Buffer, length: number, position: number): number;
  close(): void;
}

function fileSource(file: string): ByteSource {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw inventoryDamaged(file, 'is missing');
    throw error;
  }
  return { size: fs.fstatSync(fd).size, read: (into, length, position) => fs.readSync(fd, into, 0, length, position), close: () => fs.closeSync(fd) };
}

function bufferSource(bytes: Buffer): ByteSource {
  return { size: bytes.length, read: (into, length, position) => bytes.copy(into, 0, position, Math.min(position + length, bytes.length)), close: () => undefined };
}

/** The sidecar's lines, one gzip member at a time, checking the bytes' sha256 once they end. */
function* sidecarLines(file: string, ref: InventoryRef, bytes?: Buffer): Generator<string> {
  const source = bytes === undefined ? fileSource(file) : bufferSource(bytes);
  try {
    const hash = fileHash();
    const size = source.size;
    let offset = 0;
    let carry = '';
    const head = Buffer.alloc(HEAD);
    while (offset < size) {
      if (source.read(head, HEAD, offset) !== HEAD) throw inventoryDamaged(file, 'is truncated');
      const length = memberLength(head, file);
      if (offset + length > size) throw inventoryDamaged(file, 'is truncated');
      const member = Buffer.allocUnsafe(length);
      if (source.read(member, length, offset) !== length) throw inventoryDamaged(file, 'is truncated');
      hash.update(member);
      offset += length;
      const lines = (carry + gunzipMember(member, file).toString('utf8')).split('\n');
      carry = lines.pop() ?? '';
      yield* lines;
    }
    if (carry !== '') throw inventoryDamaged(file, 'is truncated (its last line is cut)');
    if (hash.digest('hex') !== ref.sha256) throw inventoryDamaged(file, 'does not match the sha256 its header records');
  } finally {
    source.close();
  }
}

/**
 * A sidecar's lines as text, unparsed (entries, then skipped paths), its bytes checked against the
 * header's sha256 once they end (throws then, or when truncated): for a reader that needs a few
 * fields of each line and trusts the bytes the header vouches for, not the entries' own checks.
 */
export function inventoryLines(dir: string, ref: InventoryRef): Iterable<string> {
  return sidecarLines(path.join(dir, ref.file), ref);
}

function parseLine(line: string, index: number, file: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new MalformedManifestError(`${file}: line ${index + 1} is not valid JSON (${(error as Error).message})`);
  }
}

/** The sidecar form: `rebuild-inventory.jsonl.gz` beside the header, checked against the header's count, sha256 and contentSha256. */
export function sidecarInventory(dir: string, ref: InventoryRef, contentSha256: string, bytes?: Buffer): Inventory {
  const file = path.join(dir, ref.file);
  const skipped: SkippedEntry[] = [];
  function* entries(): Generator<BundleEntry> {
    skipped.length = 0;
    const order = new EntryOrder();
    const content = new ContentHash();
    let index = 0;
    for (const line of sidecarLines(file, ref, bytes)) {
      const raw = parseLine(line, index, file);
      if (index < ref.entries) {
        const entry = parseEntry(raw, index, file);
        const problem = order.problem(entry.path, entry.type);
        if (problem) throw problem.unsafe ? new UnsafeEntryPathError(`${file}: ${problem.text}`) : inventoryDamaged(file, problem.text);
        content.add(entry);
        index++;
        yield entry;
      } else {
        if (index >= ref.entries + ref.skipped) throw inventoryDamaged(file, `holds more lines than the ${ref.entries + ref.skipped} its header records`);
        skipped.push(...pathReasons([raw]));
        index++;
      }
    }
    if (index !== ref.entries + ref.skipped) throw inventoryDamaged(file, `holds ${index} lines, not the ${ref.entries + ref.skipped} its header records`);
    if (content.digest() !== contentSha256) {
      throw new IntegrityError('manifest-checksum', `${file}: contentSha256 does not match the entries`, { hint: 'the manifest was edited or damaged; choose another bundle' });
    }
  }
  return { entries, skipped };
}

/**
 * An inventory already in memory: a manifest with inline entries (bundles written before the
 * sidecar), checked against its contentSha256 once read to the end, as the sidecar is; or one
 * synthesised for a NemoClaw bundle (`checksum` undefined).
 */
export function inlineInventory(entries: readonly BundleEntry[], skipped: readonly SkippedEntry[], checksum?: { value: string; file: string }): Inventory {
  function* all(): Generator<BundleEntry> {
    yield* entries;
    if (checksum !== undefined && contentSha256(entries) !== checksum.value) {
      throw new IntegrityError('manifest-checksum', `${checksum.file}: contentSha256 does not match the entries`, { hint: 'the manifest was edited or damaged; choose another bundle' });
    }
  }
  return { entries: all, skipped: [...skipped] };
}

/** Reads a whole inventory into arrays: for the few readers that need random access to every entry. */
export function collectInventory(inventory: Inventory): { entries: BundleEntry[]; skipped: SkippedEntry[] } {
  const entries: BundleEntry[] = [];
  for (const entry of inventory.entries()) entries.push(entry);
  return { entries, skipped: inventory.skipped };
}

/**
 * An inventory read forward one entry at a time with the next entry in view, for readers that walk
 * it in step with something else in path order (an archive's payload, another bundle's inventory).
 * The inventory's own checks throw from peek() when they are reached.
 */
export class InventoryCursor {
  private readonly iterator: Iterator<BundleEntry>;
  /** The next entry once read (undefined at the end), or null when not read yet. */
  private ahead: BundleEntry | undefined | null = null;

  constructor(inventory: Inventory) {
    this.iterator = inventory.entries()[Symbol.iterator]();
  }

  /** The next entry, not taken yet; undefined at the end. */
  peek(): BundleEntry | undefined {
    if (this.ahead === null) {
      const next = this.iterator.next();
      this.ahead = next.done === true ? undefined : next.value;
    }
    return this.ahead;
  }

  /** Moves past the entry peek() shows. */
  advance(): void {
    this.ahead = null;
  }
}
