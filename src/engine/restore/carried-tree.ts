import type { LiveType, LiveView } from './live-view.js';

/** Type codes of a carried tree's entries. */
export const TREE_DIR = 0;
export const TREE_FILE = 1;
export const TREE_SYMLINK = 2;
export const TREE_SPECIAL = 3;

const CODES: Record<LiveType, number> = { dir: TREE_DIR, file: TREE_FILE, symlink: TREE_SYMLINK, special: TREE_SPECIAL };

/** How many of a tree's paths a summary can list after a restore (summary.ts lists the first 20 of all kept paths). */
const LISTED = 20;

/** What a worker needs to rebuild a carried tree in the staged tree: its entries as columns, in walk order (a directory before what is below it). */
export interface TreeColumns {
  /**
   * Every entry's name (bytes as fs-path strings) in entry order, separated by '/' (no name holds
   * one): one string, where a string per entry cost about 30 bytes each (and as much again to send
   * to a worker). Read them back in order with TreeNames.
   */
  names: string;
  /** The index of each entry's directory; -1 for the tree's root directory. */
  parents: Int32Array;
  types: Uint8Array;
}

/**
 * A carried-over live directory's entries (not the root itself), held as columns: the names in
 * one string, a parent index and a type code each, about 15 bytes an entry where one plan item and
 * change per path cost 400 (and a string per name 30). The walk reads directories only (no lstat): a carried file is hard-linked, so its
 * metadata travels with it. Counts and the first paths in sort order are kept for the summary.
 */
export class CarriedTree {
  /** The names joined per directory listing, until names() joins them into one string. */
  private chunks: string[] = [];
  private joined: string | undefined;
  private count = 0;
  private parents = new Int32Array(64);
  private types = new Uint8Array(64);
  /** Entries that are not directories: what the summary counts as kept. */
  files = 0;
  /** The smallest display paths of non-directory entries, sorted, at most LISTED. */
  readonly first: string[] = [];

  get length(): number {
    return this.count;
  }

  /** Every name in entry order, '/'-separated (TreeColumns.names). */
  private names(): string {
    if (this.joined === undefined) {
      this.joined = this.chunks.join('/');
      this.chunks = [];
    }
    return this.joined;
  }

  private push(parent: number, type: LiveType): number {
    const i = this.count++;
    if (i === this.types.length) {
      const parents = new Int32Array(i * 2);
      parents.set(this.parents);
      this.parents = parents;
      const types = new Uint8Array(i * 2);
      types.set(this.types);
      this.types = types;
    }
    this.parents[i] = parent;
    this.types[i] = CODES[type];
    return i;
  }

  private noteFile(display: string): void {
    this.files++;
    const first = this.first;
    if (first.length === LISTED && display >= first[LISTED - 1]!) return;
    let at = first.length;
    while (at > 0 && first[at - 1]! > display) at--;
    first.splice(at, 0, display);
    if (first.length > LISTED) first.pop();
  }

  /**
   * Walks the live directory `abs` (shown as `display`); directories it cannot list go to `unlistable`, as the plan's walk does.
   * A directory waiting to be listed is held as its entry index, its path rebuilt when it is listed: an
   * object and two path strings per waiting directory lived long enough to be promoted to old space,
   * ~100 bytes of garbage there for each of an `xlarge` home's 130,000 carried directories.
   */
  static walk(live: LiveView, abs: string, display: string, unlistable: string[]): CarriedTree {
    const tree = new CarriedTree();
    const where = new ListingNames();
    const stack: number[] = [-1];
    while (stack.length > 0) {
      const index = stack.pop()!;
      const rel = where.relOf(index, tree.parents, tree.chunks);
      const dirAbs = rel === '' ? abs : `${abs}/${rel}`;
      const children = live.children(dirAbs);
      if (children === undefined) {
        unlistable.push(dirAbs);
        continue;
      }
      if (children.length === 0) continue;
      const dirDisplay = rel === '' ? display : `${display}/${rel}`;
      const chunk = tree.chunks.length;
      tree.chunks.push(children.map((c) => c.name).join('/'));
      let offset = 0;
      for (const child of children) {
        const i = tree.push(index, child.type);
        where.note(i, chunk, offset);
        offset += child.name.length + 1;
        if (child.type === 'dir') stack.push(i);
        else tree.noteFile(`${dirDisplay}/${child.name}`);
      }
    }
    tree.names();
    return tree;
  }

  /** The columns a staging worker is sent (copies of the used part). */
  columns(): TreeColumns {
    const n = this.count;
    return { names: this.names(), parents: this.parents.slice(0, n), types: this.types.slice(0, n) };
  }

  /** Every non-directory entry's display path under `display`, sorted (only when the whole tree is dropped: rare). */
  fileDisplays(display: string): string[] {
    const paths = new Array<string>(this.count);
    const out: string[] = [];
    const names = new TreeNames(this.names());
    for (let i = 0; i < this.count; i++) {
      const parent = this.parents[i]!;
      paths[i] = `${parent < 0 ? display : paths[parent]!}/${names.next()}`;
      if (this.types[i] !== TREE_DIR) out.push(paths[i]!);
    }
    return out.sort();
  }
}

/** While a tree is walked: where each entry's name lies in the listing chunks, so a directory's path can be rebuilt from its parents. */
class ListingNames {
  private chunkOf = new Int32Array(64);
  private offsetOf = new Int32Array(64);

  note(i: number, chunk: number, offset: number): void {
    if (i >= this.chunkOf.length) {
      const chunkOf = new Int32Array(this.chunkOf.length * 2);
      chunkOf.set(this.chunkOf);
      this.chunkOf = chunkOf;
      const offsetOf = new Int32Array(this.offsetOf.length * 2);
      offsetOf.set(this.offsetOf);
      this.offsetOf = offsetOf;
    }
    this.chunkOf[i] = chunk;
    this.offsetOf[i] = offset;
  }

  private last = -1;
  private lastRel = '';

  private nameOf(k: number, chunks: readonly string[]): string {
    const text = chunks[this.chunkOf[k]!]!;
    const at = this.offsetOf[k]!;
    const end = text.indexOf('/', at);
    return end < 0 ? text.slice(at) : text.slice(at, end);
  }

  /** Entry `i`'s path below the tree's root ('' for the root, -1); a directory listed right after its parent is one concatenation. */
  relOf(i: number, parents: Int32Array, chunks: readonly string[]): string {
    if (i < 0) return '';
    const parent = parents[i]!;
    let rel: string;
    if (parent >= 0 && parent === this.last) rel = `${this.lastRel}/${this.nameOf(i, chunks)}`;
    else {
      const parts: string[] = [];
      for (let k = i; k >= 0; k = parents[k]!) parts.push(this.nameOf(k, chunks));
      rel = parts.reverse().join('/');
    }
    this.last = i;
    this.lastRel = rel;
    return rel;
  }
}

/** Reads TreeColumns.names back one name at a time, in entry order. */
export class TreeNames {
  private at = 0;

  constructor(private readonly names: string) {}

  /** Where the next name starts in the names string. */
  get offset(): number {
    return this.at;
  }

  next(): string {
    const end = this.names.indexOf('/', this.at);
    const name = end < 0 ? this.names.slice(this.at) : this.names.slice(this.at, end);
    this.at = end < 0 ? this.names.length : end + 1;
    return name;
  }
}
