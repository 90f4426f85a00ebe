import { posix } from 'node:path';
import { UnsafeEntryPathError } from '../../errors.js';
import { relativePathProblem } from '../../fs-safety/safe-path.js';
import type { LiveChild, LiveStat, LiveType, LiveView } from './live-view.js';

/** One entry of a remote scan: its path relative to the scanned directory ('' = the directory itself). */
export interface RemoteEntry {
  path: string;
  type: LiveType;
  /** Permission bits. */
  mode: number;
  size: number;
  mtimeMs: number;
  target?: string;
}

/** A remote directory as its probe found it: where it really lives, and whether it exists. */
export interface ProbedDir {
  dir: string;
  real: string;
}

/**
 * A remote target's live state as planning sees it: the scans of the directories the restore swaps,
 * and the text of the few files planning reads (configs to merge). A text planning asks for that was
 * not fetched is recorded in `missing`: the caller fetches those and plans again (planning is pure).
 */
export class RemoteLiveView implements LiveView {
  private readonly stats = new Map<string, LiveStat & { target?: string }>();
  private readonly kids = new Map<string, LiveChild[]>();
  private readonly real = new Map<string, string>();
  readonly texts = new Map<string, string | undefined>();
  readonly missing = new Set<string>();

  constructor(probes: readonly ProbedDir[], scans: ReadonlyMap<string, readonly RemoteEntry[]>) {
    for (const probe of probes) this.real.set(probe.dir, probe.real);
    for (const [dir, entries] of scans) this.add(dir, entries);
  }

  private add(dir: string, entries: readonly RemoteEntry[]): void {
    for (const entry of entries) {
      if (entry.path !== '') {
        const problem = relativePathProblem(entry.path);
        if (problem) throw new UnsafeEntryPathError(`the remote scan of ${dir} listed ${JSON.stringify(entry.path)}, which ${problem}`);
      }
      const abs = entry.path === '' ? dir : `${dir}/${entry.path}`;
      this.stats.set(abs, { type: entry.type, mode: entry.mode, size: entry.size, mtimeMs: entry.mtimeMs, ...(entry.target !== undefined ? { target: entry.target } : {}) });
      if (entry.type === 'dir' && !this.kids.has(abs)) this.kids.set(abs, []);
      if (entry.path === '') continue;
      const parent = posix.dirname(abs);
      const list = this.kids.get(parent) ?? [];
      list.push({ name: posix.basename(abs), type: entry.type });
      this.kids.set(parent, list);
    }
  }

  lstat(abs: string): LiveStat | undefined {
    const stat = this.stats.get(abs);
    return stat && { type: stat.type, mode: stat.mode, size: stat.size, mtimeMs: stat.mtimeMs };
  }

  children(dir: string): LiveChild[] {
    return this.kids.get(dir) ?? [];
  }

  /** The scan read every directory it listed; an unreadable file shows when tar or ln fails in the target. */
  readable(): boolean {
    return true;
  }

  linkTarget(abs: string): string {
    return this.stats.get(abs)?.target ?? '';
  }

  realpathLoose(abs: string): string {
    return this.real.get(abs) ?? abs;
  }

  readText(abs: string): string | undefined {
    if (this.texts.has(abs)) return this.texts.get(abs);
    if (this.stats.get(abs)?.type !== 'file') return undefined;
    this.missing.add(abs);
    return undefined;
  }
}
