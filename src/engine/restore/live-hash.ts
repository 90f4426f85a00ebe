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
 * The jobs as columns (what a worker is sent and what waits for a fallback): the paths' and sha256s'
 * characters in buffers outside the heap, sent to a worker by transfer, and sizes, modes and mtimes
 * typed arrays. 40,000 job objects cost megabytes on both threads; the same text joined into two
 * strings was 4.5 MiB promoted on this thread and copied into the worker's heap.
 */
export interface HashJobColumns {
  /** Every path's characters one after another: one byte each (latin1), or two (UTF-16LE, which keeps an escaped byte's lone surrogate) when `wide`. */
  paths: Uint8Array;
  wide: boolean;
  /** Where each path ends, in characters. */
  ends: Int32Array;
  /** The sha256s, 64 hex characters each, a byte per character. */
  sha256s: Uint8Array;
  sizes: Float64Array;
  /** -1: not a live file (no mode and mtime to compare). */
  modes: Int32Array;
  mtimes: Float64Array;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/u;

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
    // A sha256 that is not 64 lowercase hex characters can never match: kept as 64 characters that cannot either.
    this.sha256s.push(SHA256_HEX.test(job.sha256) ? job.sha256 : '-'.repeat(64));
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
    const wide = this.paths.some((p) => BEYOND_LATIN1.test(p));
    const ends = new Int32Array(n);
    let chars = 0;
    for (let i = 0; i < n; i++) ends[i] = chars += this.paths[i]!.length;
    // allocUnsafeSlow: buffers of their own (not slices of node's pool), so they can be transferred.
    const paths = Buffer.allocUnsafeSlow(chars * (wide ? 2 : 1));
    for (let i = 0, at = 0; i < n; i++) at += paths.write(this.paths[i]!, at, wide ? 'utf16le' : 'latin1');
    const sha256s = Buffer.allocUnsafeSlow(n * 64);
    for (let i = 0; i < n; i++) sha256s.write(this.sha256s[i]!, i * 64, 'latin1');
    return { paths, wide, ends, sha256s, sizes: this.sizes.slice(0, n), modes: this.modes.slice(0, n), mtimes: this.mtimes.slice(0, n) };
  }
}

/** Reads jobs back from columns (which reach a worker as plain Uint8Arrays). */
class JobReader {
  private readonly paths: Buffer;
  private readonly sha256s: Buffer;

  constructor(private readonly jobs: HashJobColumns) {
    this.paths = Buffer.from(jobs.paths.buffer, jobs.paths.byteOffset, jobs.paths.byteLength);
    this.sha256s = Buffer.from(jobs.sha256s.buffer, jobs.sha256s.byteOffset, jobs.sha256s.byteLength);
  }

  at(i: number): LiveHashJob {
    const { jobs } = this;
    const unit = jobs.wide ? 2 : 1;
    const start = i === 0 ? 0 : jobs.ends[i - 1]!;
    const path = this.paths.toString(jobs.wide ? 'utf16le' : 'latin1', start * unit, jobs.ends[i]! * unit);
    const mode = jobs.modes[i]!;
    return { path, size: jobs.sizes[i]!, sha256: this.sha256s.toString('latin1', i * 64, i * 64 + 64), ...(mode >= 0 ? { live: { mode, mtimeMs: jobs.mtimes[i]! } } : {}) };
  }
}

/** What is transferred with the columns to a worker: their buffers (this thread keeps none of them). */
function transferablesOf(jobs: HashJobColumns): ArrayBuffer[] {
  return [jobs.paths, jobs.ends, jobs.sha256s, jobs.sizes, jobs.modes, jobs.mtimes].map((column) => column.buffer as ArrayBuffer);
}

export function hashJobsInline(jobs: HashJobColumns): Uint8Array {
  const n = jobs.sizes.length;
  const results = new Uint8Array(n);
  const reader = new JobReader(jobs);
  for (let i = 0; i < n; i++) results[i] = liveFileMatches(reader.at(i)) ? 1 : 0;
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
  const reader = new JobReader(jobs);
  for (let i = 0; i < n; i++) {
    const job = reader.at(i);
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
  // Transferred, not copied: the worker holds the only copy, and the columns are built again from
  // the list only if the worker fails.
  const worker = new Worker(script, { workerData: jobs, transferList: transferablesOf(jobs) });
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
