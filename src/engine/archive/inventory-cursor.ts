import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import { InventoryCursor, type Inventory } from '../../store/inventory-reader.js';
import { tarEntryName } from './tar-names.js';

/** How import finds the inventory entry an archive's payload entry stands for. */
export interface EntrySource {
  /** The entry `name` stands for, not yet handed out; undefined when the inventory lists none (left). */
  peek(name: string): BundleEntry | undefined;
  /** Hands that entry out: it becomes `current`. */
  take(name: string): BundleEntry | undefined;
  readonly current: BundleEntry | undefined;
  /** What was never handed out: how many, and the first (the inventory read to its end, so the reader's final checks run). */
  rest(): { count: number; first: BundleEntry | undefined };
}

/**
 * The inventory walked one entry at a time, in step with the archive's payload entries (export
 * writes them in the inventory's order), so import never holds the inventory as objects. The
 * reader's own checks (order, count, checksums) throw when reached. A payload entry that is not
 * the next one sets `outOfOrder` and throws: the caller reads the archive again by name.
 */
export class OrderedEntries implements EntrySource {
  private readonly cursor: InventoryCursor;
  current: BundleEntry | undefined;
  outOfOrder = false;

  constructor(
    inventory: Inventory,
    private readonly onTake: (entry: BundleEntry) => void,
  ) {
    this.cursor = new InventoryCursor(inventory);
  }

  peek(name: string): BundleEntry | undefined {
    const next = this.cursor.peek();
    if (next !== undefined && tarEntryName(next.path) !== name) {
      this.outOfOrder = true;
      throw new Error(`${JSON.stringify(name)} is not where the inventory lists it`);
    }
    return next;
  }

  take(name: string): BundleEntry | undefined {
    const entry = this.peek(name);
    this.cursor.advance();
    this.current = entry;
    if (entry !== undefined) this.onTake(entry);
    return entry;
  }

  rest(): { count: number; first: BundleEntry | undefined } {
    const first = this.cursor.peek();
    let count = 0;
    while (this.cursor.peek() !== undefined) {
      count++;
      this.cursor.advance();
    }
    return { count, first };
  }
}

/**
 * The inventory held by the names its entries carry in the tar, for an archive whose payload is
 * not in the inventory's order (exports of NemoClaw bundles before export sorted them). An escaped
 * name can stand for more than one path (`\xff` the byte, `\xff` the four characters), so each
 * name hands out its paths in inventory order; the hashes checked as files are written catch a swap.
 */
export class ListedEntries implements EntrySource {
  private readonly byName = new Map<string, BundleEntry[]>();
  current: BundleEntry | undefined;

  constructor(inventory: Inventory) {
    for (const entry of inventory.entries()) {
      const name = tarEntryName(entry.path);
      const list = this.byName.get(name);
      if (list) list.push(entry);
      else this.byName.set(name, [entry]);
    }
  }

  peek(name: string): BundleEntry | undefined {
    return this.byName.get(name)?.[0];
  }

  take(name: string): BundleEntry | undefined {
    this.current = this.byName.get(name)?.shift();
    return this.current;
  }

  rest(): { count: number; first: BundleEntry | undefined } {
    let count = 0;
    let first: BundleEntry | undefined;
    for (const list of this.byName.values()) {
      first ??= list[0];
      count += list.length;
    }
    return { count, first };
  }
}
