import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import type { Inventory } from '../../store/inventory-reader.js';

/**
 * Walks an archive's inventory one entry at a time, in step with the archive's payload entries
 * (export writes them in the inventory's order), so import never holds the inventory as objects.
 * The reader's own checks (order, count, checksums) throw from peek() or rest() when reached.
 */
export class InventoryCursor {
  private readonly iterator: Iterator<BundleEntry>;
  /** The next entry once peeked (undefined at the end), or null when not peeked yet. */
  private ahead: BundleEntry | undefined | null = null;
  /** The entry take() handed out last. */
  current: BundleEntry | undefined;

  constructor(inventory: Inventory) {
    this.iterator = inventory.entries()[Symbol.iterator]();
  }

  peek(): BundleEntry | undefined {
    if (this.ahead === null) {
      const next = this.iterator.next();
      this.ahead = next.done === true ? undefined : next.value;
    }
    return this.ahead;
  }

  take(): BundleEntry | undefined {
    const entry = this.peek();
    this.ahead = null;
    this.current = entry;
    return entry;
  }

  /** Reads what is left to the end (so the reader's final checks run): how many entries, and the first. */
  rest(): { count: number; first: BundleEntry | undefined } {
    const first = this.take();
    if (first === undefined) return { count: 0, first };
    let count = 1;
    while (this.take() !== undefined) count++;
    return { count, first };
  }
}
