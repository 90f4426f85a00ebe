import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { BundleMount, SkippedEntry } from '../../manifest/bundle-manifest.js';
import { linkStaysInside } from '../../fs-safety/safe-path.js';
import { companionBase, isSqliteFile } from '../../sqlite/detect.js';
import type { Selection } from '../sandbox/selection.js';

/** The few lstat fields a snapshot keeps; a retained fs.Stats costs ~1 KB, this about a fifth. */
export interface EntryMeta {
  mode: number;
  size: number;
  mtimeMs: number;
  dev: number;
  ino: number;
  nlink: number;
}

function metaOf(stat: fs.Stats): EntryMeta {
  return { mode: stat.mode, size: stat.size, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino, nlink: stat.nlink };
}

export interface ScannedEntry {
  path: string;
  source: string;
  type: 'file' | 'dir' | 'symlink';
  module: string;
  agent: string | undefined;
  stat: EntryMeta;
  target?: string;
}

export interface ScanResult {
  entries: ScannedEntry[];
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
export function scanMounts(mounts: BundleMount[], selection: Selection, allowLinks: string[], neverCapture: readonly string[] = []): ScanResult {
  const result: ScanResult = { entries: [], skipped: [], unsafeLinks: [], specialFiles: [], warnings: [], topDirs: [] };
  const allowLink = allowLinks.length > 0 ? picomatch(allowLinks, { dot: true }) : () => false;
  const mountDirs = new Set(mounts.map((m) => m.dir));
  // clawback's own home inside a state root would otherwise be snapshotted into itself, growing every time.
  const never = new Set(neverCapture.map((dir) => path.resolve(dir)));
  const mountPrefixes = mounts.filter((m) => m.prefix !== '').map((m) => m.prefix);
  /** Dirs recorded so far that have no captured descendant yet and are not in scope themselves. */
  const keptDirs = new Set<string>();
  const pendingDirs = new Map<string, ScannedEntry>();

  const keepAncestors = (payloadPath: string): void => {
    let slash = payloadPath.lastIndexOf('/');
    while (slash > 0) {
      const parent = payloadPath.slice(0, slash);
      if (keptDirs.has(parent)) return;
      const pending = pendingDirs.get(parent);
      if (pending) {
        keptDirs.add(parent);
        pendingDirs.delete(parent);
        result.entries.push(pending);
      }
      slash = parent.lastIndexOf('/');
    }
  };

  const visit = (mount: BundleMount, absolute: string, rel: string, stat: fs.Stats): void => {
    const payloadPath = joinRel(mount.prefix, rel);
    const isDir = stat.isDirectory();
    if (mount.prefix === '' && mountPrefixes.some((p) => payloadPath === p || payloadPath.startsWith(p + '/'))) return;
    const cls = selection.classify(payloadPath, isDir);
    if (cls.kind === 'excluded' || cls.kind === 'machine_local') {
      result.skipped.push({ path: payloadPath, reason: cls.kind === 'excluded' ? 'excluded' : 'machine_local' });
      return;
    }
    if (cls.kind === 'secret_left_out' || cls.kind === 'unselected' || cls.kind === 'out_of_scope') {
      if (!isDir) {
        if (cls.kind === 'secret_left_out') result.skipped.push({ path: payloadPath, reason: 'secrets left out (--no-secrets)' });
        return;
      }
      if (cls.kind === 'unselected' && !selection.leadsToSelected(payloadPath)) return;
      // Recorded only if something below it is captured.
      const { module, agent } = selection.moduleOf(payloadPath);
      pendingDirs.set(payloadPath, { path: payloadPath, source: absolute, type: 'dir', module, agent, stat: metaOf(stat) });
      descend(mount, absolute, rel);
      return;
    }
    const base: ScannedEntry = { path: payloadPath, source: absolute, type: 'file', module: cls.module, agent: cls.agent, stat: metaOf(stat) };
    if (stat.isSymbolicLink()) {
      const target = fs.readlinkSync(absolute);
      if (!linkStaysInside(rel, target) && !allowLink(payloadPath)) {
        result.unsafeLinks.push(`${payloadPath} -> ${target}`);
        return;
      }
      result.entries.push({ ...base, type: 'symlink', target });
      keepAncestors(payloadPath);
      return;
    }
    if (isDir) {
      const entry: ScannedEntry = { ...base, type: 'dir' };
      if (rel !== '' && !payloadPath.includes('/')) result.topDirs.push(payloadPath);
      result.entries.push(entry);
      keptDirs.add(payloadPath);
      keepAncestors(payloadPath);
      descend(mount, absolute, rel);
      return;
    }
    if (stat.isFile()) {
      if (stat.nlink > 1) result.warnings.push(`${payloadPath} has ${stat.nlink} hard links; captured as an independent file`);
      result.entries.push(base);
      keepAncestors(payloadPath);
      return;
    }
    if (stat.isSocket()) {
      result.skipped.push({ path: payloadPath, reason: 'socket' });
      result.warnings.push(`${payloadPath} is a socket; skipped`);
      return;
    }
    result.specialFiles.push(`${payloadPath} (${stat.isFIFO() ? 'FIFO' : 'device'})`);
  };

  const descend = (mount: BundleMount, absolute: string, rel: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(absolute);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      result.skipped.push({ path: joinRel(mount.prefix, rel), reason: `unreadable (${code})` });
      result.warnings.push(`${joinRel(mount.prefix, rel) || mount.dir} is unreadable (${code}); skipped`);
      return;
    }
    names.sort();
    for (const name of names) {
      const childAbs = path.join(absolute, name);
      if (mount.prefix === '' && mountDirs.has(childAbs)) continue;
      if (never.has(childAbs)) {
        result.skipped.push({ path: rel === '' ? name : `${rel}/${name}`, reason: 'clawback home (never captured)' });
        continue;
      }
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(childAbs);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      visit(mount, childAbs, childRel, stat);
    }
  };

  for (const mount of mounts) {
    // The mount dir itself is the user's choice and may be a link (e.g. ~/.openclaw -> /data/openclaw); below it nothing is followed.
    const stat = fs.statSync(mount.dir, { throwIfNoEntry: false });
    if (!stat) continue;
    if (!stat.isDirectory()) {
      result.warnings.push(`${mount.dir} is not a directory; skipped`);
      continue;
    }
    if (mount.prefix !== '') {
      const cls = selection.classify(mount.prefix, true);
      if (cls.kind !== 'in_scope') {
        if (cls.kind === 'secret_left_out') result.skipped.push({ path: mount.prefix, reason: 'secrets left out (--no-secrets)' });
        continue;
      }
      // The mount point itself is a directory entry, so its ancestors exist in the payload.
      const parts = mount.prefix.split('/');
      for (let i = 1; i < parts.length; i++) {
        const ancestor = parts.slice(0, i).join('/');
        if (!keptDirs.has(ancestor) && !result.entries.some((e) => e.path === ancestor)) {
          result.entries.push({ path: ancestor, source: '', type: 'dir', module: cls.module, agent: undefined, stat: metaOf(stat) });
          keptDirs.add(ancestor);
        }
      }
      result.entries.push({ path: mount.prefix, source: mount.dir, type: 'dir', module: cls.module, agent: cls.agent, stat: metaOf(stat) });
      keptDirs.add(mount.prefix);
    }
    descend(mount, mount.dir, '');
  }

  dropSqliteCompanions(result);
  result.entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}

/** A database's -wal/-shm/-journal are read through SQLite, never copied. */
function dropSqliteCompanions(result: ScanResult): void {
  const files = new Map(result.entries.filter((e) => e.type === 'file').map((e) => [e.path, e]));
  const drop = new Set<string>();
  for (const entry of files.values()) {
    const base = companionBase(entry.path);
    if (base === undefined) continue;
    const db = files.get(base);
    if (db && isSqliteFile(db.source)) drop.add(entry.path);
  }
  if (drop.size === 0) return;
  result.entries = result.entries.filter((e) => !drop.has(e.path));
  for (const p of drop) result.skipped.push({ path: p, reason: 'sqlite companion (captured through the backup API)' });
}
