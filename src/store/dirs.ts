import { createRequire } from 'node:module';
import fs from 'node:fs';
import { errnoCode } from '../errors.js';
import { fsPath, readDirents } from '../fs-safety/fs-path.js';

/** node:child_process, loaded on first use: most commands never remove a tree, and the module costs a short command ~5 ms to load. */
let loadedChildProcess: typeof import('node:child_process') | undefined;
function childProcess(): typeof import('node:child_process') {
  return (loadedChildProcess ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process'));
}

/** A directory's entry names; a directory that does not exist (yet) has none. */
export function namesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** A directory's entries with their types; a directory that does not exist (yet) has none. */
export function direntsIn(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** rm -rf; a directory someone made read-only is given back its write bit first. Names are bytes. */
export function removeTree(target: string): void {
  const where = fsPath(target);
  if (fs.lstatSync(where, { throwIfNoEntry: false }) === undefined) return;
  // coreutils rm walks with unlinkat and is 2-3x faster than fs.rmSync on a tree of 40,000 files.
  if (typeof where === 'string' && childProcess().spawnSync('rm', ['-rf', '--', where], { stdio: 'ignore' }).status === 0 && !fs.existsSync(where)) return;
  try {
    fs.rmSync(where, { recursive: true, force: true });
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
  }
  makeWritable(target);
  fs.rmSync(where, { recursive: true, force: true });
}

function makeWritable(dir: string): void {
  fs.chmodSync(fsPath(dir), 0o700);
  for (const { name, dirent } of readDirents(dir)) if (dirent.isDirectory()) makeWritable(`${dir}/${name}`);
}
