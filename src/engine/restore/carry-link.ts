import fs from 'node:fs';
import { errnoCode, SpecialFileError } from '../../errors.js';
import { fsPath, hasEscapedBytes, readLinkTarget } from '../../fs-safety/fs-path.js';
import { TREE_DIR, TreeNames, type TreeColumns } from './carried-tree.js';

/**
 * A carried symlink is hard-linked itself where the system links a link rather than its target
 * (Linux), so it keeps its inode and mtime like a carried file; otherwise it is made anew
 * (`target` is read only then).
 */
export function carrySymlink(source: string | Buffer, target: () => string, dest: string | Buffer): void {
  try {
    fs.linkSync(source, dest);
    if (fs.lstatSync(dest).isSymbolicLink()) return;
    fs.unlinkSync(dest);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOENT' && code !== 'EACCES') throw error;
  }
  fs.symlinkSync(fsPath(target()), dest);
}

/** `source` and `dest` as fsPath gives them (a plain string when the name is UTF-8). */
export function linkOrCopy(source: string | Buffer, dest: string | Buffer, regular: boolean): void {
  try {
    fs.linkSync(source, dest);
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
    if (!regular) throw new SpecialFileError(source.toString());
  }
  const input = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const stat = fs.fstatSync(input);
    const out = fs.openSync(dest, 'wx', 0o600);
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const read = fs.readSync(input, buffer, 0, buffer.length, null);
        if (read === 0) break;
        fs.writeSync(out, buffer.subarray(0, read));
      }
      fs.fchmodSync(out, stat.mode & 0o7777);
      fs.futimesSync(out, stat.atimeMs / 1000, stat.mtimeMs / 1000);
    } finally {
      fs.closeSync(out);
    }
  } finally {
    fs.closeSync(input);
  }
}

/** What carrying one entry over found: nothing, a warning for the user, or a path it may not link (refused by the caller). */
export type CarryOutcome = { warning: string } | { denied: string } | undefined;

/** Links (or copies) one carried live entry into the staged tree; vanished, special and denied entries are reported, not thrown. */
export function carryEntry(source: string, dest: string, type: 'file' | 'symlink' | 'special', display: string, target: () => string, plain = false): CarryOutcome {
  // `plain`: the caller knows both paths are UTF-8, so fsPath need not look.
  const from = plain ? source : fsPath(source);
  const to = plain ? dest : fsPath(dest);
  try {
    if (type === 'symlink') carrySymlink(from, target, to);
    else linkOrCopy(from, to, type === 'file');
    return undefined;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { warning: `${display} vanished before it could be carried over` };
    if (error instanceof SpecialFileError) return { warning: `${display} is a special file that cannot be linked here; not carried over (it is in the pre-restore snapshot)` };
    const code = errnoCode(error);
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    return { denied: source };
  }
}

/** One carried tree to rebuild: the live directory, where it goes in the staged tree, and its entries. */
export interface TreeJob extends TreeColumns {
  source: string;
  dest: string;
  display: string;
}

export interface TreeResult {
  warnings: string[];
  denied: string[];
}

const TYPE_NAMES = ['dir', 'file', 'symlink', 'special'] as const;

/** The live directory's permission bits, or 0o700 when it vanished since the plan walked it. */
function liveDirMode(dir: string | Buffer): number {
  const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
  return stat?.isDirectory() ? stat.mode & 0o7777 : 0o700;
}

/**
 * A tree's paths rebuilt from its columns on demand, not held: a string per directory (there are
 * 130,000 in an `xlarge` home's extension trees) lived to the end of the job, so every one was
 * promoted to old space. Each entry's name is found by its offset in the names string, a path by
 * its parent links; a listing's entries share their parent, so its path is built once.
 */
class TreePaths {
  private readonly offsets: Int32Array;
  private cached = -1;
  private cachedRel = '';

  constructor(
    private readonly names: string,
    count: number,
  ) {
    this.offsets = new Int32Array(count);
  }

  /** Records where entry `i`'s name starts (entries are read in order). */
  note(i: number, at: number): void {
    this.offsets[i] = at;
  }

  nameOf(i: number): string {
    const at = this.offsets[i]!;
    const end = this.names.indexOf('/', at);
    return end < 0 ? this.names.slice(at) : this.names.slice(at, end);
  }

  /**
   * Entry `i`'s path below the tree's root ('' for the root, -1). The last path asked for is kept:
   * entries are mostly asked for after their parent (a listing after its directory's) or a sibling.
   */
  relOf(i: number, parents: Int32Array): string {
    if (i < 0) return '';
    if (i === this.cached) return this.cachedRel;
    const parent = parents[i]!;
    let rel: string;
    if (parent >= 0 && parent === this.cached) rel = `${this.cachedRel}/${this.nameOf(i)}`;
    else if (this.cached >= 0 && parent === parents[this.cached]) rel = `${this.cachedRel.slice(0, this.cachedRel.length - this.nameOf(this.cached).length)}${this.nameOf(i)}`;
    else {
      const parts: string[] = [];
      for (let k = i; k >= 0; k = parents[k]!) parts.push(this.nameOf(k));
      rel = parts.reverse().join('/');
    }
    this.cached = i;
    this.cachedRel = rel;
    return rel;
  }
}

/**
 * Rebuilds a carried tree in the staged tree (on a staging worker, or the calling thread): its
 * directories created (their modes set last, deepest first, so a read-only one blocks nothing),
 * every other entry hard-linked from the live tree (copied where a link is impossible). Nothing
 * is held per entry but typed-array slots.
 */
export function stageTree(job: TreeJob): TreeResult {
  const result: TreeResult = { warnings: [], denied: [] };
  const n = job.types.length;
  const names = new TreeNames(job.names);
  const paths = new TreePaths(job.names, n);
  // Whether an entry's path holds escaped bytes, known from its directory's: each name is tested once, not each whole path.
  const escaped = new Uint8Array(n);
  // A directory's live permission bits, set once everything below it is staged.
  const modes = new Uint16Array(n);
  const rootEscaped = hasEscapedBytes(job.source) || hasEscapedBytes(job.dest);
  const rootMode = liveDirMode(fsPath(job.source));
  fs.mkdirSync(fsPath(job.dest), { mode: 0o700 });
  for (let i = 0; i < n; i++) {
    const parent = job.parents[i]!;
    paths.note(i, names.offset);
    const name = names.next();
    const parentRel = paths.relOf(parent, job.parents);
    const rel = parent < 0 ? name : `${parentRel}/${name}`;
    escaped[i] = (parent < 0 ? rootEscaped : escaped[parent] === 1) || hasEscapedBytes(name) ? 1 : 0;
    const type = job.types[i]!;
    const source = `${job.source}/${rel}`;
    const dest = `${job.dest}/${rel}`;
    if (type === TREE_DIR) {
      const plain = escaped[i] === 0;
      fs.mkdirSync(plain ? dest : fsPath(dest), { mode: 0o700 });
      modes[i] = liveDirMode(plain ? source : fsPath(source));
      continue;
    }
    const outcome = carryEntry(source, dest, TYPE_NAMES[type] as 'file' | 'symlink' | 'special', `${job.display}/${rel}`, () => readLinkTarget(source), escaped[i] === 0);
    if (outcome && 'warning' in outcome) result.warnings.push(outcome.warning);
    else if (outcome) result.denied.push(outcome.denied);
  }
  // A directory's entry precedes every entry below it: in reverse, each is set after its contents.
  for (let i = n - 1; i >= 0; i--) if (job.types[i] === TREE_DIR) fs.chmodSync(fsPath(`${job.dest}/${paths.relOf(i, job.parents)}`), modes[i]!);
  fs.chmodSync(fsPath(job.dest), rootMode);
  return result;
}
