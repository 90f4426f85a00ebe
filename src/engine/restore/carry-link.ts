import fs from 'node:fs';
import { errnoCode, SpecialFileError } from '../../errors.js';
import { fsPath, readLinkTarget } from '../../fs-safety/fs-path.js';
import { TREE_DIR, type TreeColumns } from './carried-tree.js';

/**
 * A carried symlink is hard-linked itself where the system links a link rather than its target
 * (Linux), so it keeps its inode and mtime like a carried file; otherwise it is made anew
 * (`target` is read only then).
 */
export function carrySymlink(source: string, target: () => string, dest: string): void {
  try {
    fs.linkSync(fsPath(source), fsPath(dest));
    if (fs.lstatSync(fsPath(dest)).isSymbolicLink()) return;
    fs.unlinkSync(fsPath(dest));
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOENT' && code !== 'EACCES') throw error;
  }
  fs.symlinkSync(fsPath(target()), fsPath(dest));
}

export function linkOrCopy(source: string, dest: string, regular: boolean): void {
  try {
    fs.linkSync(fsPath(source), fsPath(dest));
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
    if (!regular) throw new SpecialFileError(source);
  }
  const input = fs.openSync(fsPath(source), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const stat = fs.fstatSync(input);
    const out = fs.openSync(fsPath(dest), 'wx', 0o600);
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
export function carryEntry(source: string, dest: string, type: 'file' | 'symlink' | 'special', display: string, target: () => string): CarryOutcome {
  try {
    if (type === 'symlink') carrySymlink(source, target, dest);
    else linkOrCopy(source, dest, type === 'file');
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
function liveDirMode(dir: string): number {
  const stat = fs.lstatSync(fsPath(dir), { throwIfNoEntry: false });
  return stat?.isDirectory() ? stat.mode & 0o7777 : 0o700;
}

/**
 * Rebuilds a carried tree in the staged tree (on a staging worker, or the calling thread): its
 * directories created (their modes set last, deepest first, so a read-only one blocks nothing),
 * every other entry hard-linked from the live tree (copied where a link is impossible).
 */
export function stageTree(job: TreeJob): TreeResult {
  const result: TreeResult = { warnings: [], denied: [] };
  const n = job.names.length;
  const rels = new Array<string | undefined>(n);
  const dirs: Array<{ rel: string; mode: number }> = [{ rel: '', mode: liveDirMode(job.source) }];
  fs.mkdirSync(fsPath(job.dest), { mode: 0o700 });
  for (let i = 0; i < n; i++) {
    const parent = job.parents[i]!;
    const rel = parent < 0 ? job.names[i]! : `${rels[parent]!}/${job.names[i]!}`;
    const type = job.types[i]!;
    const source = `${job.source}/${rel}`;
    const dest = `${job.dest}/${rel}`;
    if (type === TREE_DIR) {
      rels[i] = rel;
      fs.mkdirSync(fsPath(dest), { mode: 0o700 });
      dirs.push({ rel, mode: liveDirMode(source) });
      continue;
    }
    const outcome = carryEntry(source, dest, TYPE_NAMES[type] as 'file' | 'symlink' | 'special', `${job.display}/${rel}`, () => readLinkTarget(source));
    if (outcome && 'warning' in outcome) result.warnings.push(outcome.warning);
    else if (outcome) result.denied.push(outcome.denied);
  }
  for (let d = dirs.length - 1; d >= 0; d--) fs.chmodSync(fsPath(dirs[d]!.rel === '' ? job.dest : `${job.dest}/${dirs[d]!.rel}`), dirs[d]!.mode);
  return result;
}
