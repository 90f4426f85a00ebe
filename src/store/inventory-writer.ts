import fs from 'node:fs';
import path from 'node:path';
import { ClawbackError, IntegrityError, UnsafeEntryPathError } from '../errors.js';
import { ContentHash, parseEntry, type BundleEntry, type SkippedEntry } from '../manifest/bundle-manifest.js';
import { EntryOrder, fileHash, gzipMember, INVENTORY_FILE, type InventoryRef } from '../manifest/inventory.js';

/** What the header records of an inventory once it is written, and what follows from its entries. */
export interface InventorySummary {
  ref: InventoryRef;
  contentSha256: string;
  totals: { files: number; bytes: number };
  /** Modules that hold at least one entry, sorted. */
  modules: string[];
}

/** Text gathered before it is compressed into one gzip member. */
const MEMBER_TEXT = 128 * 1024;

/**
 * Writes a bundle's inventory sidecar as entries arrive, in path order, then the skipped paths:
 * one JSON line each, gzipped a block at a time, so no command holds the inventory as one string.
 * Every entry passes the checks the reader makes (fields, order, safe paths), so a bundle that
 * verify or restore would refuse is never published; the totals, modules and contentSha256 the
 * header needs are computed on the way.
 */
export class InventoryWriter {
  private readonly file: string;
  private fd: number | undefined;
  /** Set when the inventory is gathered in memory (an export's archive) instead of written to a file. */
  private readonly chunks: Buffer[] | undefined;
  private readonly order = new EntryOrder();
  private readonly content = new ContentHash();
  private readonly bytesHash = fileHash();
  private readonly moduleSet = new Set<string>();
  private pending = '';
  private entries = 0;
  private skipped = 0;
  private files = 0;
  private fileBytes = 0;

  /** Writes `<dir>/rebuild-inventory.jsonl.gz`, or gathers the bytes in memory when `dir` is undefined (see bytes()). */
  constructor(dir: string | undefined) {
    this.file = dir === undefined ? INVENTORY_FILE : path.join(dir, INVENTORY_FILE);
    if (dir === undefined) this.chunks = [];
    else this.fd = fs.openSync(this.file, 'wx', 0o600);
  }

  /** The inventory gathered in memory, once finished. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks ?? []);
  }

  add(entry: BundleEntry): void {
    if (this.skipped > 0) throw new Error('inventory entries must come before the skipped paths');
    try {
      parseEntry(entry, this.entries, this.file);
      const problem = this.order.problem(entry.path, entry.type);
      if (problem) throw problem.unsafe ? new UnsafeEntryPathError(`${this.file}: ${problem.text}`) : new IntegrityError('unreadable-manifest', `${this.file}: ${problem.text}`);
    } catch (error) {
      if (!(error instanceof ClawbackError)) throw error;
      throw new IntegrityError('unreadable-manifest', `${error.message}; the bundle was not published`, {
        hint: 'nothing was written to the snapshot store; report this name as a clawback bug',
      });
    }
    this.entries++;
    this.content.add(entry);
    this.moduleSet.add(entry.module);
    if (entry.type === 'file') {
      this.files++;
      this.fileBytes += entry.size ?? 0;
    }
    this.push(JSON.stringify(entry));
  }

  addSkipped(skipped: SkippedEntry): void {
    this.skipped++;
    this.push(JSON.stringify({ path: skipped.path, reason: skipped.reason }));
  }

  /** Flushes, fsyncs and closes the sidecar; the header that points at it is written next. */
  finish(): InventorySummary {
    this.flush();
    if (this.chunks === undefined) {
      const fd = this.open();
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      this.fd = undefined;
    }
    return {
      ref: { file: INVENTORY_FILE, entries: this.entries, skipped: this.skipped, sha256: this.bytesHash.digest('hex') },
      contentSha256: this.content.digest(),
      totals: { files: this.files, bytes: this.fileBytes },
      modules: [...this.moduleSet].sort(),
    };
  }

  /** Closes the sidecar after a failure (the partial bundle it is in is removed by the caller). */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private push(line: string): void {
    this.pending += line + '\n';
    if (this.pending.length >= MEMBER_TEXT) this.flush();
  }

  private flush(): void {
    if (this.pending === '') return;
    const member = gzipMember(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
    this.bytesHash.update(member);
    if (this.chunks !== undefined) {
      this.chunks.push(member);
      return;
    }
    const fd = this.open();
    let offset = 0;
    while (offset < member.length) offset += fs.writeSync(fd, member, offset, member.length - offset);
  }

  private open(): number {
    if (this.fd === undefined) throw new Error('the inventory is already closed');
    return this.fd;
  }
}

/** An inventory written from entries already in memory (import, export, tests), sorted here by path; in memory when `dir` is undefined. */
export function writeInventory(dir: string | undefined, entries: readonly BundleEntry[], skipped: readonly SkippedEntry[]): InventorySummary & { bytes: Buffer } {
  const writer = new InventoryWriter(dir);
  try {
    const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const entry of sorted) writer.add(entry);
    for (const item of skipped) writer.addSkipped(item);
    return { ...writer.finish(), bytes: writer.bytes() };
  } finally {
    writer.close();
  }
}
