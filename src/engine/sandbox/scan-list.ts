import path from 'node:path';
import type { BundleMount } from '../../manifest/bundle-manifest.js';

/** The few lstat fields a snapshot keeps. */
export interface EntryMeta {
  mode: number;
  size: number;
  mtimeMs: number;
  dev: number;
  ino: number;
  nlink: number;
}

export type ScannedType = 'file' | 'dir' | 'symlink';

/** One scanned path, as handed out by a ScanList (built on demand, never stored). */
export interface ScannedEntry {
  path: string;
  source: string;
  type: ScannedType;
  module: string;
  agent: string | undefined;
  stat: EntryMeta;
  target?: string;
}

/** What the scan records of a path: its mount (by index, -1 for a mount point's ancestor, which has no source) instead of its absolute path. */
export interface ScanRecord {
  path: string;
  mount: number;
  type: ScannedType;
  module: string;
  agent: string | undefined;
  stat: EntryMeta;
  target?: string;
}

const TYPES: readonly ScannedType[] = ['file', 'dir', 'symlink'];
const STAT_FIELDS = 6;
const NO_MOUNT = 0xffff;

/**
 * The scan of a state root held as columns: one string per path, typed arrays for the type,
 * mount, module, agent and the lstat fields, one table for the few module and agent names.
 * About 150 bytes a path, where an object per path with its absolute source and stat cost 500.
 * Entries are handed out as short-lived ScannedEntry objects.
 */
export class ScanList {
  private paths: string[] = [];
  private types = new Uint8Array(1024);
  private mounts = new Uint16Array(1024);
  private modules = new Uint16Array(1024);
  private agents = new Uint16Array(1024);
  private stats = new Float64Array(1024 * STAT_FIELDS);
  private targets = new Map<number, string>();
  private readonly names: string[] = [''];
  private readonly nameIndex = new Map<string, number>([['', 0]]);

  constructor(private readonly mountList: readonly BundleMount[]) {}

  get length(): number {
    return this.paths.length;
  }

  push(record: ScanRecord): void {
    const i = this.paths.length;
    if (i === this.types.length) this.grow(i * 2);
    this.paths.push(record.path);
    this.types[i] = TYPES.indexOf(record.type);
    this.mounts[i] = record.mount < 0 ? NO_MOUNT : record.mount;
    this.modules[i] = this.name(record.module);
    this.agents[i] = record.agent === undefined ? 0 : this.name(record.agent) + 1;
    const s = record.stat;
    this.stats.set([s.mode, s.size, s.mtimeMs, s.dev, s.ino, s.nlink], i * STAT_FIELDS);
    if (record.target !== undefined) this.targets.set(i, record.target);
  }

  path(i: number): string {
    return this.paths[i]!;
  }

  type(i: number): ScannedType {
    return TYPES[this.types[i]!]!;
  }

  size(i: number): number {
    return this.stats[i * STAT_FIELDS + 1]!;
  }

  /** The lstat mode (type and permission bits). */
  mode(i: number): number {
    return this.stats[i * STAT_FIELDS]!;
  }

  /** How many files, and their bytes as the scan saw them. */
  fileTotals(): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (let i = 0; i < this.paths.length; i++) {
      if (this.types[i] !== 0) continue;
      files++;
      bytes += this.stats[i * STAT_FIELDS + 1]!;
    }
    return { files, bytes };
  }

  /** The agents some entry belongs to. */
  agentNames(): Set<string> {
    const found = new Set<string>();
    for (let i = 0; i < this.paths.length; i++) if (this.agents[i] !== 0) found.add(this.names[this.agents[i]! - 1]!);
    return found;
  }

  has(p: string): boolean {
    return this.paths.includes(p);
  }

  /** The absolute path of entry i on the host ('' for a mount point's ancestor). */
  source(i: number): string {
    const m = this.mounts[i]!;
    if (m === NO_MOUNT) return '';
    const mount = this.mountList[m]!;
    const p = this.paths[i]!;
    const rel = mount.prefix === '' ? p : p === mount.prefix ? '' : p.slice(mount.prefix.length + 1);
    return rel === '' ? mount.dir : path.join(mount.dir, rel);
  }

  at(i: number): ScannedEntry {
    const at = i * STAT_FIELDS;
    const s = this.stats;
    const agent = this.agents[i]!;
    const entry: ScannedEntry = {
      path: this.paths[i]!,
      source: this.source(i),
      type: this.type(i),
      module: this.names[this.modules[i]!]!,
      agent: agent === 0 ? undefined : this.names[agent - 1],
      stat: { mode: s[at]!, size: s[at + 1]!, mtimeMs: s[at + 2]!, dev: s[at + 3]!, ino: s[at + 4]!, nlink: s[at + 5]! },
    };
    const target = this.targets.get(i);
    if (target !== undefined) entry.target = target;
    return entry;
  }

  *[Symbol.iterator](): Generator<ScannedEntry> {
    for (let i = 0; i < this.paths.length; i++) yield this.at(i);
  }

  /** Keeps the entries `keep` accepts, in order. */
  retain(keep: (i: number) => boolean): void {
    this.reorder(Array.from({ length: this.length }, (_, i) => i).filter(keep));
  }

  /** Sorts by path (as JavaScript compares strings: the order of every inventory). */
  sortByPath(): void {
    const paths = this.paths;
    this.reorder(Array.from({ length: this.length }, (_, i) => i).sort((a, b) => (paths[a]! < paths[b]! ? -1 : paths[a]! > paths[b]! ? 1 : 0)));
  }

  private reorder(order: number[]): void {
    const old = { paths: this.paths, types: this.types, mounts: this.mounts, modules: this.modules, agents: this.agents, stats: this.stats, targets: this.targets };
    this.paths = [];
    this.targets = new Map();
    this.types = new Uint8Array(Math.max(order.length, 1024));
    this.mounts = new Uint16Array(this.types.length);
    this.modules = new Uint16Array(this.types.length);
    this.agents = new Uint16Array(this.types.length);
    this.stats = new Float64Array(this.types.length * STAT_FIELDS);
    for (const from of order) {
      const to = this.paths.length;
      this.paths.push(old.paths[from]!);
      this.types[to] = old.types[from]!;
      this.mounts[to] = old.mounts[from]!;
      this.modules[to] = old.modules[from]!;
      this.agents[to] = old.agents[from]!;
      this.stats.set(old.stats.subarray(from * STAT_FIELDS, (from + 1) * STAT_FIELDS), to * STAT_FIELDS);
      const target = old.targets.get(from);
      if (target !== undefined) this.targets.set(to, target);
    }
  }

  private name(value: string): number {
    let index = this.nameIndex.get(value);
    if (index === undefined) {
      index = this.names.length;
      this.names.push(value);
      this.nameIndex.set(value, index);
    }
    return index;
  }

  private grow(capacity: number): void {
    const grown = <T extends Uint8Array | Uint16Array | Float64Array>(array: T, make: (n: number) => T, n: number): T => {
      const next = make(n);
      next.set(array);
      return next;
    };
    this.types = grown(this.types, (n) => new Uint8Array(n), capacity);
    this.mounts = grown(this.mounts, (n) => new Uint16Array(n), capacity);
    this.modules = grown(this.modules, (n) => new Uint16Array(n), capacity);
    this.agents = grown(this.agents, (n) => new Uint16Array(n), capacity);
    this.stats = grown(this.stats, (n) => new Float64Array(n), capacity * STAT_FIELDS);
  }
}
