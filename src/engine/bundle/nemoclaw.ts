import fs from 'node:fs';
import { RefusedError } from '../../errors.js';
import { fsPath, readDirents, readLinkTarget } from '../../fs-safety/fs-path.js';
import { threadReader } from '../../fs-safety/file-reader.js';
import { linkStaysInside } from '../../fs-safety/safe-path.js';
import { contentSha256, type BundleEntry, type BundleHeader, type BundleManifest, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { NEMOCLAW_FORMAT, nemoclawCoveredPaths, type NemoClawManifest } from '../../manifest/nemoclaw-manifest.js';
import { companionBase, isSqliteFile } from '../../sqlite/detect.js';

/**
 * The adapter that lets the kernel read a NemoClaw bundle (format nemoclaw-v1) in place: its
 * captured dirs and state files, found beside its manifest, become an inventory like a clawback
 * bundle's (entries with type, mode and size; sha256 computed as they are read). The bundle is
 * only ever read: SQLite never opens a file in it (see sqlite/backup.ts), nothing is written there.
 */

export interface LegacyProblem {
  path: string;
  problem: string;
}

export interface LegacyTree {
  entries: BundleEntry[];
  skipped: SkippedEntry[];
  /** What makes the bundle unusable: unsafe links, hard links, special files, unreadable files. */
  problems: LegacyProblem[];
}

export type ModuleOf = (path: string) => { module: string; agent: string | undefined };

interface WalkOptions {
  /** Read every file and record its sha256 (else only lstat). */
  hash: boolean;
  moduleOf?: ModuleOf;
}

class LegacyWalk {
  readonly tree: LegacyTree = { entries: [], skipped: [], problems: [] };
  private readonly sqliteFiles: Set<string>;

  constructor(
    private readonly dir: string,
    manifest: NemoClawManifest,
    private readonly options: WalkOptions,
  ) {
    this.sqliteFiles = new Set(manifest.stateFiles.filter((f) => f.strategy === 'sqlite_backup').map((f) => f.path));
  }

  /** A covered path: missing is fine (NemoClaw skips what the sandbox lacked); below a link or a file it is not. */
  visitCovered(rel: string): void {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      const stat = fs.lstatSync(fsPath(`${this.dir}/${ancestor}`), { throwIfNoEntry: false });
      if (stat === undefined) return;
      if (!stat.isDirectory()) {
        this.tree.problems.push({ path: rel, problem: `lies below ${ancestor}, which is ${stat.isSymbolicLink() ? 'a symlink' : 'not a directory'}` });
        return;
      }
    }
    const stat = fs.lstatSync(fsPath(`${this.dir}/${rel}`), { throwIfNoEntry: false });
    if (stat !== undefined) this.visit(rel, stat);
  }

  private visit(rel: string, stat: fs.Stats): void {
    const abs = `${this.dir}/${rel}`;
    const placed = this.options.moduleOf?.(rel) ?? { module: 'other', agent: undefined };
    const base = { path: rel, module: placed.module, ...(placed.agent !== undefined ? { agent: placed.agent } : {}) };
    if (stat.isDirectory()) {
      this.tree.entries.push({ ...base, type: 'dir', mode: stat.mode & 0o7777 });
      for (const { name } of readDirents(abs)) {
        const childRel = `${rel}/${name}`;
        const child = fs.lstatSync(fsPath(`${this.dir}/${childRel}`), { throwIfNoEntry: false });
        if (child !== undefined) this.visit(childRel, child);
      }
    } else if (stat.isSymbolicLink()) {
      const target = readLinkTarget(abs);
      if (linkStaysInside(rel, target)) this.tree.entries.push({ ...base, type: 'symlink', target });
      else this.tree.problems.push({ path: rel, problem: `an unsafe symlink to ${JSON.stringify(target)} (absolute, or it leaves the bundle)` });
    } else if (!stat.isFile()) {
      this.tree.problems.push({ path: rel, problem: 'a special file (FIFO, socket or device)' });
    } else if (stat.nlink > 1) {
      this.tree.problems.push({ path: rel, problem: `hard-linked (${stat.nlink} links): NemoClaw never wrote hard links, so it may share its bytes with a file outside the bundle` });
    } else this.visitFile(rel, abs, stat, base);
  }

  private visitFile(rel: string, abs: string, stat: fs.Stats, base: Pick<BundleEntry, 'path' | 'module' | 'agent'>): void {
    const db = companionBase(rel);
    if (db !== undefined && isSqliteFile(`${this.dir}/${db}`)) {
      this.tree.skipped.push({ path: rel, reason: `sqlite companion of ${db} (read with it)` });
      return;
    }
    const entry: BundleEntry = { ...base, type: 'file', mode: stat.mode & 0o7777, size: stat.size, mtimeMs: stat.mtimeMs };
    if (this.sqliteFiles.has(rel) || isSqliteFile(abs)) entry.strategy = 'sqlite_backup';
    if (this.options.hash) {
      try {
        const digest = threadReader().hashFile(abs);
        entry.sha256 = digest.sha256;
        entry.size = digest.size;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EIO') throw error;
        this.tree.problems.push({ path: rel, problem: `unreadable (${code})` });
        return;
      }
    }
    this.tree.entries.push(entry);
  }
}

/** Everything a NemoClaw bundle holds, walked without following a link. */
export function walkNemoClawBundle(dir: string, manifest: NemoClawManifest, options: WalkOptions): LegacyTree {
  const walk = new LegacyWalk(dir, manifest, options);
  for (const rel of nemoclawCoveredPaths(manifest)) walk.visitCovered(rel);
  return walk.tree;
}

/** Files and bytes for `snapshot list`: lstat only. */
export function nemoclawTotals(dir: string, manifest: NemoClawManifest): { files: number; bytes: number } {
  const files = walkNemoClawBundle(dir, manifest, { hash: false }).entries.filter((e) => e.type === 'file');
  return { files: files.length, bytes: files.reduce((sum, e) => sum + (e.size ?? 0), 0) };
}

/**
 * The bundle as an in-memory inventory for restore, export and diff, its hashes computed now;
 * those readers check each file against them as they copy it. Refused, naming every offending
 * path, when the bundle holds anything a clawback bundle never could.
 */
export function nemoclawInventory(dir: string, header: BundleHeader, manifest: NemoClawManifest, moduleOf: ModuleOf): BundleManifest {
  const tree = walkNemoClawBundle(dir, manifest, { hash: true, moduleOf });
  if (tree.problems.length > 0) {
    throw new RefusedError('unsafe-content', `the NemoClaw bundle ${dir} holds ${tree.problems.length} path(s) clawback will not read`, {
      hint: 'nothing was changed; see `snapshot verify` for the list',
      details: tree.problems.slice(0, 20).map((p) => `${p.path}: ${p.problem}`),
    });
  }
  const entries = tree.entries;
  let bytes = 0;
  for (const e of entries) bytes += e.type === 'file' ? e.size ?? 0 : 0;
  return {
    ...header,
    format: NEMOCLAW_FORMAT,
    modules: [...new Set(entries.map((e) => e.module))].sort(),
    totals: { files: entries.filter((e) => e.type === 'file').length, bytes },
    entries,
    skipped: tree.skipped,
    contentSha256: contentSha256(entries),
  };
}
