import fs from 'node:fs';
import { RefusedError } from '../errors.js';
import { fsPath } from '../fs-safety/fs-path.js';
import { relativePathProblem, safeJoin } from '../fs-safety/safe-path.js';

/** Maps an archive entry name (normalised, no trailing slash) to a relative POSIX path under the destination, or null to skip it. */
export type EntryPathMap = (name: string) => string | null;

export interface ExtractSummary {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  skipped: number;
}

/**
 * Applies the caller's map during the checking pass, so a bad mapping is
 * refused before anything is written, like a hostile entry.
 */
export class MappedPaths {
  private readonly seen = new Set<string>();

  /** `distinct`: the caller's map never gives two names one path (it checks that itself), so the paths taken are not kept. */
  constructor(
    private readonly map: EntryPathMap,
    private readonly distinct = false,
  ) {}

  resolve(name: string): string | null {
    return this.check(name, this.map(name));
  }

  /** Checks a destination the caller mapped `name` to itself. */
  check(name: string, rel: string | null): string | null {
    if (rel === null) return null;
    const problem = relativePathProblem(rel);
    if (problem) throw new RefusedError('hostile-archive', `archive entry ${JSON.stringify(name)} maps to ${JSON.stringify(rel)}, which ${problem}`);
    if (this.distinct) return rel;
    if (this.seen.has(rel)) throw new RefusedError('hostile-archive', `archive entry ${JSON.stringify(name)} maps to ${JSON.stringify(rel)}, already taken by another entry`);
    this.seen.add(rel);
    return rel;
  }
}

/**
 * Creates what an extraction writes under `root`: directories 0700, new
 * files 0600 (never replacing an existing one), with a check once per
 * directory that no existing ancestor is a symlink.
 */
export class ExtractTarget {
  private readonly readyDirs = new Set<string>();

  constructor(readonly root: string) {
    this.readyDirs.add('');
  }

  directory(rel: string): void {
    this.ensureDir(rel);
  }

  /** Opens a new file for writing and returns its descriptor. */
  createFile(rel: string, mode = 0o600): number {
    this.ensureDir(parentOf(rel));
    const fd = fs.openSync(fsPath(safeJoin(this.root, rel)), 'wx', mode);
    // An explicit chmod, because the umask may have stripped bits the caller asked for.
    if (mode !== 0o600) fs.fchmodSync(fd, mode);
    return fd;
  }

  symlink(rel: string, target: string): void {
    this.ensureDir(parentOf(rel));
    fs.symlinkSync(fsPath(target), fsPath(safeJoin(this.root, rel)));
  }

  private ensureDir(rel: string): void {
    if (this.readyDirs.has(rel)) return;
    this.ensureDir(parentOf(rel));
    const full = safeJoin(this.root, rel);
    const stat = fs.lstatSync(fsPath(full), { throwIfNoEntry: false });
    if (stat === undefined) {
      fs.mkdirSync(fsPath(full), { mode: 0o700 });
    } else if (!stat.isDirectory()) {
      throw new RefusedError('unsafe-path', `refusing to extract below ${full}: it exists and is not a directory`);
    }
    this.readyDirs.add(rel);
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

export function emptySummary(): ExtractSummary {
  return { files: 0, directories: 0, symlinks: 0, bytes: 0, skipped: 0 };
}
