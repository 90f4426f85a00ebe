import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';
import { Worker } from 'node:worker_threads';
import { threadReader } from '../../fs-safety/file-reader.js';
import { compiledWorker } from '../bundle/worker-script.js';

/**
 * A file whose bytes must hash to `sha256`: a live file the restore would
 * link instead of copy (it must also still have `live`'s mode and mtime), or
 * a bundle file read by other means (a database, through SQLite).
 */
export interface LiveHashJob {
  path: string;
  size: number;
  sha256: string;
  live?: { mode: number; mtimeMs: number };
}

/** Below this much work a worker's start-up costs more than it saves. */
const WORKER_MIN_BYTES = 32 * 1024 * 1024;

/** The file has the job's size (and, for a live file, mode and mtime), and its bytes hash to the job's sha256. */
export function liveFileMatches(job: LiveHashJob): boolean {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(job.path), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.size !== job.size) return false;
    if (job.live && ((stat.mode & 0o777) !== job.live.mode || Math.trunc(stat.mtimeMs) !== Math.trunc(job.live.mtimeMs))) return false;
    return threadReader().hash(fd).sha256 === job.sha256;
  } finally {
    fs.closeSync(fd);
  }
}

export function hashJobsInline(jobs: readonly LiveHashJob[]): Uint8Array {
  const results = new Uint8Array(jobs.length);
  jobs.forEach((job, i) => {
    results[i] = liveFileMatches(job) ? 1 : 0;
  });
  return results;
}

export interface LiveHashing {
  mode: 'worker' | 'inline';
  results(): Promise<Uint8Array>;
  /** Stops a worker still hashing (the restore failed before it needed the answers). */
  cancel(): void;
}

/**
 * Starts checking files against the manifest. Reading is all it does, so a
 * worker thread can run it on the second core while the main thread stages
 * bundle copies and restores databases; small jobs (and builds
 * where the worker script is missing, e.g. tests run from source) hash
 * inline when the results are asked for.
 */
export function startLiveHashing(jobs: LiveHashJob[]): LiveHashing {
  const bytes = jobs.reduce((sum, job) => sum + job.size, 0);
  const script = bytes < WORKER_MIN_BYTES ? undefined : compiledWorker('./live-hash-worker.js', import.meta.url);
  if (script === undefined) {
    return { mode: 'inline', results: () => Promise.resolve(hashJobsInline(jobs)), cancel: () => undefined };
  }
  const worker = new Worker(script, { workerData: jobs });
  let cancelled = false;
  const pending = new Promise<Uint8Array>((resolve) => {
    let settled = false;
    const settle = (results: () => Uint8Array): void => {
      if (settled) return;
      settled = true;
      resolve(cancelled ? new Uint8Array(jobs.length) : results());
    };
    worker.once('message', (results: Uint8Array) => {
      settle(() => results);
      void worker.terminate();
    });
    // A worker that fails only costs time: the main thread does the work instead.
    worker.once('error', () => settle(() => hashJobsInline(jobs)));
    worker.once('exit', () => settle(() => hashJobsInline(jobs)));
  });
  return {
    mode: 'worker',
    results: () => pending,
    cancel: () => {
      cancelled = true;
      void worker.terminate();
    },
  };
}
