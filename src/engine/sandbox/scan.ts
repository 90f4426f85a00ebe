import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { BundleMount, SkippedEntry } from '../../manifest/bundle-manifest.js';
import { fsPath, readLinkTarget, readNames } from '../../fs-safety/fs-path.js';
import { linkStaysInside } from '../../fs-safety/safe-path.js';
import { companionBase, isSqliteFile } from '../../sqlite/detect.js';
import { ScanList, type EntryMeta, type ScanRecord } from './scan-list.js';
import type { Selection } from './selection.js';

export type { EntryMeta, ScannedEntry } from './scan-list.js';

/** The lstat answers a scan uses: node's fs.Stats, or a remote listing's (remote-scan.ts). */
export type StatLike = Pick<fs.Stats, 'mode' | 'size' | 'mtimeMs' | 'dev' | 'ino' | 'nlink' | 'isDirectory' | 'isFile' | 'isSymbolicLink' | 'isSocket' | 'isFIFO'>;

/** The filesystem calls a scan makes: this host's by default, a remote target's listing for a transport. */
export interface ScanView {
  /** Follows links (the mount dir itself may be one); undefined when it does not exist. */
  stat(dir: string): StatLike | undefined;
  readNames(dir: string): string[];
  /** Never follows a link; throws an error with an errno `code` (ENOENT for a vanished entry). */
  lstat(file: string): StatLike;
  readLink(file: string): string;
  isSqlite(file: string): boolean;
}

const HOST_VIEW: ScanView = {
  stat: (dir) => fs.statSync(dir, { throwIfNoEntry: false }),
  readNames,
  lstat: (file) => fs.lstatSync(fsPath(file)),
  readLink: readLinkTarget,
  isSqlite: isSqliteFile,
};

function metaOf(stat: StatLike): EntryMeta {
  return { mode: stat.mode, size: stat.size, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino, nlink: stat.nlink };
}

export interface ScanResult {
  /** Every captured path, sorted by path, held as columns. */
  entries: ScanList;
  skipped: SkippedEntry[];
  /** Links that are absolute or leave their root: a snapshot refuses them before writing anything. */
  unsafeLinks: string[];
  /** FIFOs and devices: refused too. */
  specialFiles: string[];
  warnings: string[];
  /** Top-level directories seen in the root mount, for the manifest's stateDirs. */
  topDirs: string[];
}

function joinRel(prefix: string, rel: string): string {
  return prefix === '' ? rel : rel === '' ? prefix : `${prefix}/${rel}`;
}

/**
 * Walk every mount with lstat (never following a link) and classify each path.
 * Nothing is written; the caller refuses unsafe links before creating a bundle.
 */
export function scanMounts(mounts: BundleMount[], selection: Selection, managedLinks: string[], neverCapture: readonly string[] = [], view: ScanView = HOST_VIEW): ScanResult {
  const scanner = new MountScanner(mounts, selection, managedLinks, neverCapture, view);
  mounts.forEach((mount, index) => scanner.scanMount(mount, index));
  const result = scanner.result;
  dropSqliteCompanions(result, view);
  result.entries.sortByPath();
  return result;
}

/** One scan's walk: what it found so far, and the directories waiting to learn whether they hold anything captured. */
class MountScanner {
  readonly result: ScanResult;
  private readonly allowLink: (path: string) => boolean;
  private readonly mountDirs: Set<string>;
  /** clawback's own home inside a state root would otherwise be snapshotted into itself, growing every time. */
  private readonly never: Set<string>;
  private readonly mountPrefixes: string[];
  /** Dirs recorded so far. */
  private readonly keptDirs = new Set<string>();
  /** Dirs seen that are not in scope themselves and have no captured descendant yet. */
  private readonly pendingDirs = new Map<string, ScanRecord>();
  /** The mount being walked, by index. */
  private mount = 0;

  constructor(
    mounts: BundleMount[],
    private readonly selection: Selection,
    managedLinks: string[],
    neverCapture: readonly string[],
    private readonly view: ScanView,
  ) {
    this.allowLink = managedLinks.length > 0 ? picomatch(managedLinks, { dot: true }) : () => false;
    this.mountDirs = new Set(mounts.map((m) => m.dir));
    this.never = new Set(neverCapture.map((dir) => path.resolve(dir)));
    this.mountPrefixes = mounts.filter((m) => m.prefix !== '').map((m) => m.prefix);
    this.result = { entries: new ScanList(mounts), skipped: [], unsafeLinks: [], specialFiles: [], warnings: [], topDirs: [] };
  }

  scanMount(mount: BundleMount, index: number): void {
    this.mount = index;
    // The mount dir itself is the user's choice and may be a link (e.g. ~/.openclaw -> /data/openclaw); below it nothing is followed.
    const stat = this.view.stat(mount.dir);
    if (!stat) return;
    if (!stat.isDirectory()) {
      this.result.warnings.push(`${mount.dir} is not a directory; skipped`);
      return;
    }
    if (mount.prefix !== '' && !this.addMountPoint(mount, stat)) return;
    this.descend(mount, mount.dir, '');
  }

  /** A mount below the root is a directory entry, so its ancestors exist in the payload; false when it is out of scope. */
  private addMountPoint(mount: BundleMount, stat: StatLike): boolean {
    const cls = this.selection.classify(mount.prefix, true);
    if (cls.kind !== 'in_scope') {
      if (cls.kind === 'secret_left_out') this.result.skipped.push({ path: mount.prefix, reason: 'secrets left out (--no-secrets)' });
      return false;
    }
    const parts = mount.prefix.split('/');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      if (!this.keptDirs.has(ancestor) && !this.result.entries.has(ancestor)) {
        this.result.entries.push({ path: ancestor, mount: -1, type: 'dir', module: cls.module, agent: undefined, stat: metaOf(stat) });
        this.keptDirs.add(ancestor);
      }
    }
    this.result.entries.push({ path: mount.prefix, mount: this.mount, type: 'dir', module: cls.module, agent: cls.agent, stat: metaOf(stat) });
    this.keptDirs.add(mount.prefix);
    return true;
  }

  private descend(mount: BundleMount, absolute: string, rel: string): void {
    let names: string[];
    try {
      names = this.view.readNames(absolute);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      this.result.skipped.push({ path: joinRel(mount.prefix, rel), reason: `unreadable (${code})` });
      this.result.warnings.push(`${joinRel(mount.prefix, rel) || mount.dir} is unreadable (${code}); skipped`);
      return;
    }
    names.sort();
    for (const name of names) {
      const childAbs = path.join(absolute, name);
      if (mount.prefix === '' && this.mountDirs.has(childAbs)) continue;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (this.never.has(childAbs)) {
        this.result.skipped.push({ path: childRel, reason: 'clawback home (never captured)' });
        continue;
      }
      let stat: StatLike;
      try {
        stat = this.view.lstat(childAbs);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code !== 'ENAMETOOLONG') throw error;
        // Longer than PATH_MAX: skipped by name, never a crash (capture also skips paths too long for its bundle).
        this.result.skipped.push({ path: joinRel(mount.prefix, childRel), reason: 'path too long (ENAMETOOLONG)' });
        this.result.warnings.push(`${joinRel(mount.prefix, childRel).slice(0, 60)}… is longer than the system allows; skipped`);
        continue;
      }
      this.visit(mount, childAbs, childRel, stat);
    }
  }

  private visit(mount: BundleMount, absolute: string, rel: string, stat: StatLike): void {
    const payloadPath = joinRel(mount.prefix, rel);
    const isDir = stat.isDirectory();
    if (mount.prefix === '' && this.mountPrefixes.some((p) => payloadPath === p || payloadPath.startsWith(p + '/'))) return;
    const cls = this.selection.classify(payloadPath, isDir);
    if (cls.kind === 'excluded' || cls.kind === 'machine_local') {
      this.result.skipped.push({ path: payloadPath, reason: cls.kind === 'excluded' ? 'excluded' : 'machine_local' });
      return;
    }
    if (cls.kind === 'secret_left_out' || cls.kind === 'unselected' || cls.kind === 'out_of_scope') {
      if (isDir) this.visitOutOfScopeDir(mount, absolute, rel, payloadPath, stat, cls.kind);
      else if (cls.kind === 'secret_left_out') this.result.skipped.push({ path: payloadPath, reason: 'secrets left out (--no-secrets)' });
      return;
    }
    const base: ScanRecord = { path: payloadPath, mount: this.mount, type: 'file', module: cls.module, agent: cls.agent, stat: metaOf(stat) };
    if (stat.isSymbolicLink()) this.visitLink(rel, absolute, base);
    else if (isDir) {
      if (rel !== '' && !payloadPath.includes('/')) this.result.topDirs.push(payloadPath);
      this.keep({ ...base, type: 'dir' });
      this.keptDirs.add(payloadPath);
      this.descend(mount, absolute, rel);
    } else if (stat.isFile()) {
      if (stat.nlink > 1) this.result.warnings.push(`${payloadPath} has ${stat.nlink} hard links; captured as an independent file`);
      this.keep(base);
    } else if (stat.isSocket()) {
      this.result.skipped.push({ path: payloadPath, reason: 'socket' });
      this.result.warnings.push(`${payloadPath} is a socket; skipped`);
    } else {
      this.result.specialFiles.push(`${payloadPath} (${stat.isFIFO() ? 'FIFO' : 'device'})`);
    }
  }

  /** A directory outside the selection is walked (something below it may be selected) and recorded only if something below it is captured. */
  private visitOutOfScopeDir(mount: BundleMount, absolute: string, rel: string, payloadPath: string, stat: StatLike, kind: string): void {
    if (kind === 'unselected' && !this.selection.leadsToSelected(payloadPath)) return;
    const { module, agent } = this.selection.moduleOf(payloadPath);
    this.pendingDirs.set(payloadPath, { path: payloadPath, mount: this.mount, type: 'dir', module, agent, stat: metaOf(stat) });
    this.descend(mount, absolute, rel);
  }

  private visitLink(rel: string, absolute: string, base: ScanRecord): void {
    const target = this.view.readLink(absolute);
    if (!linkStaysInside(rel, target) && !this.allowLink(base.path)) {
      this.result.unsafeLinks.push(`${base.path} -> ${target}`);
      return;
    }
    this.keep({ ...base, type: 'symlink', target });
  }

  /** Records a captured entry, and with it every pending directory above it. */
  private keep(entry: ScanRecord): void {
    this.result.entries.push(entry);
    let slash = entry.path.lastIndexOf('/');
    while (slash > 0) {
      const parent = entry.path.slice(0, slash);
      if (this.keptDirs.has(parent)) return;
      const pending = this.pendingDirs.get(parent);
      if (pending) {
        this.keptDirs.add(parent);
        this.pendingDirs.delete(parent);
        this.result.entries.push(pending);
      }
      slash = parent.lastIndexOf('/');
    }
  }
}

/** A database's -wal/-shm/-journal are read through SQLite, never copied. */
function dropSqliteCompanions(result: ScanResult, view: ScanView): void {
  const list = result.entries;
  const files = new Map<string, number>();
  for (let i = 0; i < list.length; i++) if (list.type(i) === 'file') files.set(list.path(i), i);
  const drop = new Set<number>();
  for (const [p, i] of files) {
    const base = companionBase(p);
    if (base === undefined) continue;
    const db = files.get(base);
    if (db !== undefined && view.isSqlite(list.source(db))) drop.add(i);
  }
  if (drop.size === 0) return;
  for (const i of drop) result.skipped.push({ path: list.path(i), reason: 'sqlite companion (captured through the backup API)' });
  list.retain((i) => !drop.has(i));
}
