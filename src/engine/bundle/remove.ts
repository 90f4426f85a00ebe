import fs from 'node:fs';
import { fsPath, readDirents } from '../../fs-safety/fs-path.js';
import path from 'node:path';
import { fsyncDir } from '../../store/atomic.js';
import type { BundleRecord, BundleState } from '../../store/bundles.js';
import type { EngineDeps } from '../deps.js';
import { forgetStaleDigests, spaceCacheDir, spaceFromManifests } from './space.js';

export interface DeletedBundle {
  id: string;
  timestamp: string;
  version: number | null;
  name: string | null;
  state: BundleState;
  files: number | null;
  bytes: number | null;
}

export const DELETING_PREFIX = '.deleting-';

export function describeBundle(record: BundleRecord): DeletedBundle {
  return {
    id: record.id,
    timestamp: record.timestamp,
    version: record.version ?? null,
    name: record.header?.name ?? null,
    state: record.state,
    files: record.header?.totals.files ?? null,
    bytes: record.header?.totals.bytes ?? null,
  };
}

/** Disk use of the complete bundles now, minus after: what deleting `targets` frees. */
export function freedBy(records: BundleRecord[], targets: BundleRecord[], sandboxDir: string): number {
  const cacheDir = spaceCacheDir(sandboxDir);
  const gone = new Set(targets.map((t) => t.id));
  const before = spaceFromManifests(records, cacheDir).bytes;
  const after = spaceFromManifests(records.filter((r) => !gone.has(r.id)), cacheDir).bytes;
  return before - after;
}

/** The caller holds the sandbox lock. */
export function removeBundles(sandboxDir: string, targets: BundleRecord[], deps: EngineDeps): void {
  for (const record of targets) {
    const doomed = path.join(sandboxDir, `${DELETING_PREFIX}${record.id}`);
    fs.renameSync(record.dir, doomed);
    fsyncDir(sandboxDir);
    deps.fault?.('delete:after-rename');
    removeTree(doomed);
  }
  fsyncDir(sandboxDir);
  forgetStaleDigests(sandboxDir);
}

/**
 * A delete killed between rename and rm leaves a hidden `.deleting-*` dir, and a killed
 * diff its `.diff-<pid>-*` scratch dir; remove them (the latter once that pid is gone).
 * The caller holds the sandbox lock.
 */
export function sweepLeftovers(sandboxDir: string, isAlive: (pid: number) => boolean): void {
  let names: string[];
  try {
    names = fs.readdirSync(sandboxDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) {
    const scratch = /^\.diff-(\d+)-[0-9a-f]+$/.exec(name);
    if (name.startsWith(DELETING_PREFIX) || (scratch && !isAlive(Number(scratch[1])))) removeTree(path.join(sandboxDir, name));
  }
}

/** rm -rf; a directory someone made read-only is given back its write bit first. */
function removeTree(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    makeWritable(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function makeWritable(dir: string): void {
  fs.chmodSync(fsPath(dir), 0o700);
  for (const { name, dirent } of readDirents(dir)) {
    if (dirent.isDirectory()) makeWritable(path.join(dir, name));
  }
}
