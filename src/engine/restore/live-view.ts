import fs from 'node:fs';
import path from 'node:path';
import { fsPath, readDirents, readLinkTarget } from '../../fs-safety/fs-path.js';
export type LiveType = 'file' | 'dir' | 'symlink' | 'special';

/** What planning needs to know of one live path (lstat: a symlink is itself). */
export interface LiveStat {
  type: LiveType;
  /** Permission bits. */
  mode: number;
  size: number;
  mtimeMs: number;
}

export interface LiveChild {
  name: string;
  type: LiveType;
}

/**
 * The live state a restore plans against, read-only: this host's filesystem (LocalLiveView), or a
 * remote target's tree as one scan saw it (remote-live.ts). Planning is synchronous and reads
 * nothing else, so the same plan code serves both.
 */
export interface LiveView {
  lstat(abs: string): LiveStat | undefined;
  /** A directory's children; `undefined` when it exists but cannot be listed; [] when it is gone. */
  children(dir: string): LiveChild[] | undefined;
  /** Whether this process can read the file (one it cannot, no pre-restore snapshot can save). */
  readable(abs: string): boolean;
  linkTarget(abs: string): string;
  /** The real path of the longest existing ancestor, joined with the missing rest. */
  realpathLoose(abs: string): string;
  /** A regular file's text (a config to merge), or undefined when there is none. */
  readText(abs: string): string | undefined;
}

function typeOfDirent(dirent: fs.Dirent<Buffer> | fs.Dirent): LiveType {
  return dirent.isDirectory() ? 'dir' : dirent.isSymbolicLink() ? 'symlink' : dirent.isFile() ? 'file' : 'special';
}

function typeOfStat(stat: fs.Stats): LiveType {
  return stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : 'special';
}

/**
 * A directory's children with their names as fs-path gives them (bytes that are not UTF-8 escaped).
 * Node decodes names as UTF-8 itself, with U+FFFD for bytes that are not; only a listing holding one
 * is read again as bytes (readDirents). A Buffer and a decode per name, for the 200,000 entries of a
 * large home, were most of the garbage (and a fifth of the CPU) of planning a restore.
 */
function listChildren(dir: string): LiveChild[] {
  const dirents = fs.readdirSync(fsPath(dir), { withFileTypes: true });
  const children = new Array<LiveChild>(dirents.length);
  for (let i = 0; i < dirents.length; i++) {
    const dirent = dirents[i]!;
    if (dirent.name.includes('\uFFFD')) return readDirents(dir).map((d) => ({ name: d.name, type: typeOfDirent(d.dirent) }));
    children[i] = { name: dirent.name, type: typeOfDirent(dirent) };
  }
  return children;
}

/** This host's filesystem, through fs-path (names are bytes). */
export const LOCAL_LIVE_VIEW: LiveView = {
  lstat(abs) {
    const stat = fs.lstatSync(fsPath(abs), { throwIfNoEntry: false });
    return stat ? { type: typeOfStat(stat), mode: stat.mode & 0o7777, size: stat.size, mtimeMs: stat.mtimeMs } : undefined;
  },
  children(dir) {
    try {
      return listChildren(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      if (code !== 'EACCES' && code !== 'EPERM') throw error;
      return undefined;
    }
  },
  readable(abs) {
    try {
      fs.accessSync(fsPath(abs), fs.constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  linkTarget: readLinkTarget,
  realpathLoose(p) {
    const missing: string[] = [];
    let current = path.resolve(p);
    for (;;) {
      try {
        return path.join(fs.realpathSync(current), ...missing.reverse());
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        const parent = path.dirname(current);
        if (parent === current) return path.join(current, ...missing.reverse());
        missing.push(path.basename(current));
        current = parent;
      }
    }
  },
  readText(file) {
    const stat = fs.lstatSync(fsPath(file), { throwIfNoEntry: false });
    return stat?.isFile() ? fs.readFileSync(fsPath(file), 'utf8') : undefined;
  },
};
