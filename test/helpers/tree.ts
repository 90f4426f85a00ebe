import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { databaseContent, isSqlite } from './sqlite.js';

export interface TreeItem {
  type: 'file' | 'dir' | 'symlink' | 'special' | 'db';
  /** Permission bits; 0 for symlinks (Linux has no link modes). */
  mode: number;
  /** Files: sha256 of the bytes. Databases (with `databasesByContent`): sha256 of their rows. */
  sha256?: string;
  size?: number;
  target?: string;
  mtimeMs?: number;
}

export interface TreeOptions {
  /** Paths (relative, POSIX) to leave out, with everything below them. */
  skip?: (rel: string) => boolean;
  /** Databases by logical content and without their -wal/-shm (a checkpoint changes bytes, not content). */
  databasesByContent?: boolean;
  /** Also each entry's mtime: for trees that must be untouched, not merely equal. */
  times?: boolean;
  /** Also the root dir itself, as `.`. */
  withRoot?: boolean;
}

const COMPANION = /-(wal|shm|journal)$/;

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function itemOf(abs: string, stat: fs.Stats, options: TreeOptions): TreeItem {
  const mode = stat.mode & 0o7777;
  const time = options.times ? { mtimeMs: stat.mtimeMs } : {};
  if (stat.isSymbolicLink()) return { type: 'symlink', mode: 0, target: fs.readlinkSync(abs), ...time };
  if (stat.isDirectory()) return { type: 'dir', mode, ...time };
  if (!stat.isFile()) return { type: 'special', mode, ...time };
  if (options.databasesByContent && isSqlite(abs)) return { type: 'db', mode, sha256: sha256(JSON.stringify(databaseContent(abs))), ...time };
  return { type: 'file', mode, sha256: sha256(fs.readFileSync(abs)), size: stat.size, ...time };
}

/** Everything a user would notice in a tree: paths, types, bytes, permission bits, link targets (and mtimes on request). */
export function readTree(root: string, options: TreeOptions = {}): Map<string, TreeItem> {
  const out = new Map<string, TreeItem>();
  if (options.withRoot) out.set('.', itemOf(root, fs.lstatSync(root), options));
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (options.skip?.(childRel)) continue;
      const full = path.join(dir, name);
      if (options.databasesByContent && COMPANION.test(name) && fs.existsSync(full.replace(COMPANION, '')) && isSqlite(full.replace(COMPANION, ''))) continue;
      const stat = fs.lstatSync(full);
      out.set(childRel, itemOf(full, stat, options));
      if (stat.isDirectory()) walk(full, childRel);
    }
  };
  walk(root, '');
  return out;
}

/** The same as readTree, one line per path: equal digests mean equal trees, and a failing comparison names the paths. */
export function treeDigest(root: string, options: TreeOptions = {}): Record<string, string> {
  const digest: Record<string, string> = {};
  for (const [rel, item] of readTree(root, options)) {
    const parts: Array<string | number> = [item.type, item.mode.toString(8)];
    if (item.target !== undefined) parts.push(`-> ${item.target}`);
    if (item.sha256 !== undefined) parts.push(item.sha256);
    if (item.mtimeMs !== undefined) parts.push(`mtime ${item.mtimeMs}`);
    digest[rel] = parts.join(' ');
  }
  return digest;
}

/** cp -a, so modes, links and mtimes survive. */
export async function copyTree(from: string, to: string): Promise<void> {
  fs.rmSync(to, { recursive: true, force: true });
  await execa('cp', ['-a', from, to]);
}
