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

/**
 * The jobs as columns (what a worker is sent and what waits for a fallback): paths and sha256s each
 * one string, sizes, modes and mtimes typed arrays. 40,000 job objects cost megabytes on both threads.
 */
export interface HashJobColumns {
  /** The paths, each followed by a NUL (no path holds one). */
  paths: string;
  /** The sha256s, 64 hex characters each. */
  sha256s: string;
  sizes: Float64Array;
  /** -1: not a live file (no mode and mtime to compare). */
  modes: Int32Array;
  mtimes: Float64Array;
}

/** Collects hash jobs as columns, one at a time. */
export class HashJobList {
  private readonly paths: string[] = [];
  private readonly sha256s: string[] = [];
  private sizes = new Float64Array(64);
  private modes = new Int32Array(64);
  private mtimes = new Float64Array(64);

  get length(): number {
    return this.paths.length;
  }

  add(job: LiveHashJob): void {
    const i = this.paths.length;
    if (i === this.sizes.length) this.grow();
    this.paths.push(job.path);
    // A sha256 that is not 64 hex characters can never match: kept as 64 characters that cannot either.
    this.sha256s.push(job.sha256.length === 64 ? job.sha256 : '-'.repeat(64));
    this.sizes[i] = job.size;
    this.modes[i] = job.live ? job.live.mode : -1;
    this.mtimes[i] = job.live ? job.live.mtimeMs : 0;
  }

  private grow(): void {
    const n = this.sizes.length * 2;
    const sizes = new Float64Array(n);
    sizes.set(this.sizes);
    this.sizes = sizes;
    const modes = new Int32Array(n);
    modes.set(this.modes);
    this.modes = modes;
    const mtimes = new Float64Array(n);
    mtimes.set(this.mtimes);
    this.mtimes = mtimes;
  }

  columns(): HashJobColumns {
    const n = this.paths.length;
    return { paths: n === 0 ? '' : this.paths.join('\0') + '\0', sha256s: this.sha256s.join(''), sizes: this.sizes.slice(0, n), modes: this.modes.slice(0, n), mtimes: this.mtimes.slice(0, n) };
  }
}

/** Job `i` of the columns, its path starting at `at` (jobs are read in order). */
function jobAt(jobs: HashJobColumns, i: number, at: number): { job: LiveHashJob; next: number } {
  const end = jobs.paths.indexOf('\0', at);
  const mode = jobs.modes[i]!;
  const job: LiveHashJob = { path: jobs.paths.slice(at, end), size: jobs.sizes[i]!, sha256: jobs.sha256s.slice(i * 64, i * 64 + 64), ...(mode >= 0 ? { live: { mode, mtimeMs: jobs.mtimes[i]! } } : {}) };
  return { job, next: end + 1 };
}

export function hashJobsInline(jobs: HashJobColumns): Uint8Array {
  const n = jobs.sizes.length;
  const results = new Uint8Array(n);
  for (let i = 0, at = 0; i < n; i++) {
    const { job, next } = jobAt(jobs, i, at);
    at = next;
    results[i] = liveFileMatches(job) ? 1 : 0;
  }
  return results;
}

/** Hashed between two turns of the event loop when this thread does the work: a Ctrl-C is seen within a fraction of a second. */
const INLINE_SLICE_BYTES = 16 * 1024 * 1024;
/** A file costs this much besides its bytes (open, fstat, close). */
const PER_FILE_BYTES = 16 * 1024;

/** The same work on this thread, a slice at a time; stops (all 0) once `cancelled` says so. */
async function hashJobsInSlices(jobs: HashJobColumns, cancelled: () => boolean): Promise<Uint8Array> {
  const n = jobs.sizes.length;
  const results = new Uint8Array(n);
  let slice = 0;
  for (let i = 0, at = 0; i < n; i++) {
    const { job, next } = jobAt(jobs, i, at);
    at = next;
    results[i] = liveFileMatches(job) ? 1 : 0;
    slice += job.size + PER_FILE_BYTES;
    if (slice < INLINE_SLICE_BYTES) continue;
    slice = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (cancelled()) return new Uint8Array(n);
  }
  return results;
}

function columnsOf(jobs: readonly LiveHashJob[] | HashJobList): HashJobColumns {
  if (jobs instanceof HashJobList) return jobs.columns();
  const list = new HashJobList();
  for (const job of jobs) list.add(job);
  return list.columns();
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
 * bundle copies and restores databases; small jobs, builds where the worker
 * script is missing (e.g. tests run from source), and `worker: false` (the
 * main thread has next to nothing to stage meanwhile, so a worker would only
 * add its memory, tens of MiB) hash on this thread, a slice at a time, when
 * the results are asked for.
 */
export function startLiveHashing(list: readonly LiveHashJob[] | HashJobList, options: { worker?: boolean } = {}): LiveHashing {
  let jobs: HashJobColumns | undefined = columnsOf(list);
  const n = jobs.sizes.length;
  const bytes = jobs.sizes.reduce((sum, size) => sum + size, 0);
  const script = bytes < WORKER_MIN_BYTES || options.worker === false ? undefined : compiledWorker('./live-hash-worker.js', import.meta.url);
  if (script === undefined) {
    const inline = jobs;
    let stopped = false;
    let started: Promise<Uint8Array> | undefined;
    return {
      mode: 'inline',
      results: () => (started ??= hashJobsInSlices(inline, () => stopped)),
      cancel: () => {
        stopped = true;
      },
    };
  }
  const worker = new Worker(script, { workerData: jobs });
  // The worker has its own copy: the joined columns (megabytes of strings) are let go here and built
  // again from the list only if the worker fails.
  jobs = undefined;
  const fallback = (): Uint8Array => hashJobsInline(columnsOf(list));
  let cancelled = false;
  const pending = new Promise<Uint8Array>((resolve) => {
    let settled = false;
    const settle = (results: () => Uint8Array): void => {
      if (settled) return;
      settled = true;
      resolve(cancelled ? new Uint8Array(n) : results());
    };
    worker.once('message', (results: Uint8Array) => {
      settle(() => results);
      void worker.terminate();
    });
    // A worker that fails only costs time: the main thread does the work instead.
    worker.once('error', () => settle(fallback));
    worker.once('exit', () => settle(fallback));
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
