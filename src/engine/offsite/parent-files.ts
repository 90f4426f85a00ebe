import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import type { InventoryRef } from '../../manifest/inventory.js';
import { openInventory, type BundleRecord } from '../../store/bundles.js';
import { InventoryCursor, inventoryLines } from '../../store/inventory-reader.js';

/** A file as the parent bundle's inventory records it: what push compares a file restic will not read with. */
export interface RecordedFile {
  size: number;
  sha256: string;
}

/**
 * The parent bundle's files, read forward only: `find` takes increasing paths (the inventory's
 * order) and gives the file recorded there, if it is a file with a sha256; `drain` reads to the end,
 * where the inventory's checks are made: false means it is damaged, and the answers given from it
 * cannot stand. A damaged or unreadable inventory answers nothing (every file is then hashed).
 */
export interface ParentFiles {
  find(rel: string): RecordedFile | undefined;
  drain(): boolean;
}

export function parentFiles(parent: Pick<BundleRecord, 'dir' | 'header'>): ParentFiles {
  const ref = parent.header?.inventory;
  return ref !== undefined ? new LineCursor(parent.dir, ref) : new EntryCursor(parent);
}

/**
 * A sidecar inventory read as text (store/inventory-reader.ts, inventoryLines): each line's path, and
 * the type, size and sha256 of the one asked for, are taken from the line without parsing it. The
 * sidecar's bytes are checked against the sha256 the parent's header records once they end, so the
 * lines are the ones the parent's snapshot wrote, and those are JSON.stringify's: `,"` occurs in a
 * line only before a key (a quote inside a string is escaped), so `,"size":` is the entry's size
 * (and `{"size":` when it comes first).
 * A line that does not read as expected answers nothing, and the file is hashed.
 */
class LineCursor implements ParentFiles {
  private lines: Iterator<string> | undefined;
  /** The next entry line, not taken yet (undefined past the entries), or null when not read yet. */
  private ahead: { path: string; line: string } | undefined | null = null;
  /** Entry lines not read yet: the skipped paths follow them. */
  private left: number;
  private broken = false;

  constructor(
    private readonly dir: string,
    private readonly ref: InventoryRef,
  ) {
    this.left = ref.entries;
  }

  find(rel: string): RecordedFile | undefined {
    if (this.broken) return undefined;
    try {
      let next = this.peek();
      while (next !== undefined && next.path < rel) {
        this.ahead = null;
        next = this.peek();
      }
      return next?.path === rel ? recordedFile(next.line) : undefined;
    } catch {
      this.broken = true;
      return undefined;
    }
  }

  drain(): boolean {
    if (this.broken) return false;
    try {
      const lines = this.open();
      while (lines.next().done !== true);
      return true;
    } catch {
      this.broken = true;
      return false;
    }
  }

  private open(): Iterator<string> {
    return (this.lines ??= inventoryLines(this.dir, this.ref)[Symbol.iterator]());
  }

  private peek(): { path: string; line: string } | undefined {
    if (this.ahead !== null) return this.ahead;
    const next = this.left > 0 ? this.open().next() : undefined;
    if (next === undefined || next.done === true) {
      this.left = 0;
      this.ahead = undefined;
    } else {
      this.left--;
      this.ahead = { path: linePath(next.value), line: next.value };
    }
    return this.ahead;
  }
}

const PATH_START = '{"path":"';

/** The path of an inventory line: the first key's string as written (decoded only when it holds an escape), else the parsed line's. */
function linePath(line: string): string {
  const end = line.startsWith(PATH_START) ? line.indexOf('","', PATH_START.length) : -1;
  if (end < 0) {
    const value = JSON.parse(line) as { path?: unknown };
    if (typeof value.path !== 'string') throw new Error('an inventory line without a path');
    return value.path;
  }
  const raw = line.slice(PATH_START.length, end);
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}

/** Where the value of the line's key `key` starts (after `"key":`), or -1: the first key follows `{`, any other `,`. */
function valueAt(line: string, key: string): number {
  const first = `{"${key}":`;
  if (line.startsWith(first)) return first.length;
  const marker = `,"${key}":`;
  const at = line.indexOf(marker);
  return at < 0 ? -1 : at + marker.length;
}

/** The top-level string value of `key` in a line (one without escapes: a type), or undefined. */
function stringField(line: string, key: string): string | undefined {
  const at = valueAt(line, key);
  if (at < 0 || line[at] !== '"') return undefined;
  const start = at + 1;
  const end = line.indexOf('"', start);
  const value = end < 0 ? '' : line.slice(start, end);
  return end < 0 || value.includes('\\') ? undefined : value;
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;

/** The non-negative integer value of `key` in a line, or undefined. */
function integerField(line: string, key: string): number | undefined {
  const at = valueAt(line, key);
  if (at < 0) return undefined;
  let value = 0;
  let k = at;
  const first = k;
  for (; k < line.length; k++) {
    const code = line.charCodeAt(k);
    if (code < DIGIT_0 || code > DIGIT_9) break;
    value = value * 10 + (code - DIGIT_0);
  }
  const after = line[k];
  return k > first && k - first <= 15 && (after === ',' || after === '}') ? value : undefined;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function recordedFile(line: string): RecordedFile | undefined {
  if (stringField(line, 'type') !== 'file') return undefined;
  const sha256 = stringField(line, 'sha256');
  const size = integerField(line, 'size');
  if (sha256 === undefined || !SHA256_HEX.test(sha256) || size === undefined) return undefined;
  return { size, sha256 };
}

/** A parent whose entries are inline in its manifest (written before the sidecar): read through the checked inventory. */
class EntryCursor implements ParentFiles {
  private cursor: InventoryCursor | undefined;
  private broken = false;

  constructor(private readonly parent: Pick<BundleRecord, 'dir' | 'header'>) {}

  find(rel: string): RecordedFile | undefined {
    const entry = this.read((cursor) => {
      let next = cursor.peek();
      while (next !== undefined && next.path < rel) {
        cursor.advance();
        next = cursor.peek();
      }
      return next;
    });
    if (entry?.path !== rel || entry.type !== 'file' || entry.sha256 === undefined || entry.size === undefined) return undefined;
    return { size: entry.size, sha256: entry.sha256 };
  }

  drain(): boolean {
    this.read((cursor) => {
      while (cursor.peek() !== undefined) cursor.advance();
      return undefined;
    });
    return !this.broken;
  }

  /** Runs `step` on the cursor, opened on first use; an error (a damaged or unreadable inventory) breaks it for good. */
  private read(step: (cursor: InventoryCursor) => BundleEntry | undefined): BundleEntry | undefined {
    if (this.broken) return undefined;
    try {
      this.cursor ??= new InventoryCursor(openInventory(this.parent.dir, this.parent.header));
      return step(this.cursor);
    } catch {
      this.broken = true;
      return undefined;
    }
  }
}
