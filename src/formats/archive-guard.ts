import { RefusedError } from '../errors.js';
import { isAgentId } from '../manifest/agent-id.js';
import { foreignPathProblem, linkStaysInside } from '../fs-safety/safe-path.js';

export type ArchiveEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'device' | 'other';

/** What the guard needs to know about one archive entry, before any of it is written. */
export interface ArchiveEntryCheck {
  name: string;
  type: ArchiveEntryType;
  /** Uncompressed size in bytes. */
  size: number;
  /** Stored size, for formats that compress entry by entry (zip). */
  compressedSize?: number;
  linkTarget?: string;
}

export interface ArchiveLimits {
  maxEntries: number;
  maxTotalBytes: number;
  maxCompressionRatio: number;
  /** Entries at or below this uncompressed size are exempt from the ratio rule: tiny files compress absurdly well. */
  ratioCheckMinBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxEntries: 200_000,
  maxTotalBytes: 8 * 1024 ** 3,
  maxCompressionRatio: 200,
  ratioCheckMinBytes: 1024 ** 2,
});

/** Directories whose immediate children are named by QwenPaw agent ids. */
export const DEFAULT_AGENT_ID_ROOTS: readonly string[] = Object.freeze(['workspaces', 'data/workspaces']);

export interface ArchiveGuardOptions {
  /**
   * Symlink entries are refused unless this returns true; even then the link must be relative and
   * stay inside the archive root. `'managed'` accepts it whatever its target: a link the agent
   * manages itself (absolute, by design), which extraction writes as a link and never follows.
   */
  allowSymlink?: (name: string, target: string) => boolean | 'managed';
  /** Override which directories hold agent ids; [] turns the agent-id rule off. */
  agentIdRoots?: readonly string[];
  /** Which names are refused: by default the rules for archives from other systems (no backslash, no drive letter). */
  pathProblem?: (name: string) => string | undefined;
}

const IMPLICIT_DIR = 0;
const EXPLICIT_DIR = 1;
const LEAF = 2;
type Seen = typeof IMPLICIT_DIR | typeof EXPLICIT_DIR | typeof LEAF;

/**
 * The hostile-archive rules (README "Safety rules", "Export, import, encryption, QwenPaw"), fed one entry at a time by a
 * listing pass that runs before anything is extracted, or (extractTarStreaming) by the extraction itself,
 * each entry before it is written. Throws RefusedError
 * `hostile-archive` naming the first offending entry.
 */
export class ArchiveGuard {
  readonly limits: Readonly<ArchiveLimits>;
  private readonly allowSymlink: ((name: string, target: string) => boolean | 'managed') | undefined;
  private readonly agentIdRoots: readonly string[];
  private readonly pathProblem: (name: string) => string | undefined;
  private readonly seen = new Map<string, Seen>();
  private count = 0;
  private total = 0;

  constructor(limits: Partial<ArchiveLimits> = {}, options: ArchiveGuardOptions = {}) {
    this.limits = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
    this.allowSymlink = options.allowSymlink;
    this.pathProblem = options.pathProblem ?? foreignPathProblem;
    this.agentIdRoots = (options.agentIdRoots ?? DEFAULT_AGENT_ID_ROOTS).map((root) => root.replace(/\/+$/, ''));
  }

  get entryCount(): number {
    return this.count;
  }

  get totalBytes(): number {
    return this.total;
  }

  /** Checks one entry and returns its normalised name (a directory's trailing slash removed). */
  check(entry: ArchiveEntryCheck): string {
    const raw = entry.name;
    const name = entry.type === 'directory' && raw.endsWith('/') ? raw.slice(0, -1) : raw;

    this.count += 1;
    if (this.count > this.limits.maxEntries) {
      refuse(raw, `makes the archive exceed ${this.limits.maxEntries} entries`);
    }

    const problem = this.pathProblem(name);
    if (problem) refuse(raw, problem);

    this.checkType(entry, name);
    this.checkAgentId(raw, name);
    this.checkSize(entry);
    this.checkPlacement(raw, name, entry.type === 'directory');
    return name;
  }

  private checkType(entry: ArchiveEntryCheck, name: string): void {
    switch (entry.type) {
      case 'file':
      case 'directory':
        return;
      case 'symlink': {
        const target = entry.linkTarget ?? '';
        const allowed = this.allowSymlink?.(name, target);
        if (allowed === 'managed' || (allowed === true && linkStaysInside(name, target))) return;
        refuse(entry.name, `is a symbolic link to ${JSON.stringify(target)}`);
        return;
      }
      case 'hardlink':
        refuse(entry.name, 'is a hard link');
        return;
      case 'device':
        refuse(entry.name, 'is a device or FIFO');
        return;
      default:
        refuse(entry.name, 'has an unsupported entry type');
    }
  }

  private checkAgentId(raw: string, name: string): void {
    for (const root of this.agentIdRoots) {
      if (!name.startsWith(root + '/')) continue;
      const id = name.slice(root.length + 1).split('/', 1)[0]!;
      if (!isAgentId(id)) refuse(raw, `names an invalid agent id ${JSON.stringify(id)}`);
    }
  }

  private checkSize(entry: ArchiveEntryCheck): void {
    const { size, compressedSize } = entry;
    if (!Number.isSafeInteger(size) || size < 0) refuse(entry.name, `has an invalid size ${String(size)}`);
    if (compressedSize !== undefined && (!Number.isSafeInteger(compressedSize) || compressedSize < 0)) {
      refuse(entry.name, `has an invalid compressed size ${String(compressedSize)}`);
    }
    this.total += size;
    if (this.total > this.limits.maxTotalBytes) {
      refuse(entry.name, `makes the archive exceed ${this.limits.maxTotalBytes} bytes uncompressed`);
    }
    if (compressedSize !== undefined && size > this.limits.ratioCheckMinBytes) {
      if (size > compressedSize * this.limits.maxCompressionRatio) {
        const ratio = compressedSize === 0 ? 'unbounded' : `${Math.round(size / compressedSize)}:1`;
        refuse(entry.name, `has a compression ratio of ${ratio} (limit ${this.limits.maxCompressionRatio}:1)`);
      }
    }
  }

  /** Duplicates, and entries below a file or symlink entry, or a file where a directory was implied. */
  private checkPlacement(raw: string, name: string, isDirectory: boolean): void {
    const previous = this.seen.get(name);
    if (previous === LEAF || previous === EXPLICIT_DIR) refuse(raw, 'is a duplicate');
    if (previous === IMPLICIT_DIR && !isDirectory) refuse(raw, 'is not a directory but other entries lie below it');
    this.seen.set(name, isDirectory ? EXPLICIT_DIR : LEAF);

    let end = name.lastIndexOf('/');
    while (end > 0) {
      const ancestor = name.slice(0, end);
      const state = this.seen.get(ancestor);
      if (state === LEAF) refuse(raw, `lies below the non-directory entry ${JSON.stringify(ancestor)}`);
      // An ancestor already known as a directory had its own ancestors checked.
      if (state !== undefined) break;
      this.seen.set(ancestor, IMPLICIT_DIR);
      end = ancestor.lastIndexOf('/');
    }
  }
}

function refuse(name: string, reason: string): never {
  throw new RefusedError('hostile-archive', `refusing archive entry ${JSON.stringify(name)}: ${reason}`, {
    hint: 'nothing was extracted; the archive is damaged or was crafted to escape the destination',
  });
}
