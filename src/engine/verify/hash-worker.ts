import fs from 'node:fs';
import { FileReader, HASH_ONLY_CHUNK, type HashOptions } from '../../fs-safety/file-reader.js';
import { fsPath } from '../../fs-safety/fs-path.js';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { hasSqliteHeader } from '../../sqlite/detect.js';
import { packBatch, WORKER_ROLE, type DatabaseProblem, type Hashed, type HashOutcome, type PackedBatch } from './file-table.js';

/** One payload file to re-hash; `index` lets the caller put the answer back in place. */
export interface HashJob {
  index: number;
  file: string;
  /** Read to EOF even after a short read (a re-check before a mismatch is reported). */
  careful?: boolean;
}

export type { Hashed, HashOutcome } from './file-table.js';

/** quick_check of one file: undefined when ok, else what is wrong. */
export type DatabaseChecker = (file: string) => string | undefined;

// O_NONBLOCK: should a FIFO appear where a file was, open and read fail instead of hanging.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/**
 * Hashes payload files with sync reads into one reused buffer of this thread's (memory stays flat
 * whatever the file size). A short read is taken as the end of a file; a mismatch is re-read with
 * `careful` before it is reported. Files with the SQLite header are marked, for `checkDatabases`.
 */
export class FileHasher {
  private readonly reader = new FileReader(HASH_ONLY_CHUNK);
  /** Whether the file digest() is reading starts with the SQLite header (seen in its first chunk). */
  private database = false;
  private readonly sniff = (chunk: Buffer, offset: number): void => {
    if (offset === 0) this.database = hasSqliteHeader(chunk);
  };
  private readonly quickRead: HashOptions = { trustShortRead: true, each: this.sniff };
  private readonly carefulRead: HashOptions = { each: this.sniff };

  hash(job: HashJob): HashOutcome {
    let fd: number;
    try {
      fd = fs.openSync(fsPath(job.file), OPEN_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') return { index: job.index, kind: 'missing' };
      if (code === 'ELOOP') return { index: job.index, kind: 'not-a-file' };
      return { index: job.index, kind: 'unreadable', code };
    }
    let outcome: Hashed;
    try {
      outcome = this.digest(fd, job);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EISDIR') return { index: job.index, kind: 'not-a-file' };
      return { index: job.index, kind: 'unreadable', code };
    } finally {
      fs.closeSync(fd);
    }
    return outcome;
  }

  /** sha256 and size of an open file, and whether it starts with the SQLite header. */
  private digest(fd: number, job: HashJob): Hashed {
    this.database = false;
    // sniff never stops the read, so there is always a digest.
    const { sha256, size } = this.reader.hash(fd, job.careful === true ? this.carefulRead : this.quickRead)!;
    return hashed(job.index, size, sha256, this.database);
  }

  hashAll(jobs: readonly HashJob[]): HashOutcome[] {
    return jobs.map((job) => this.hash(job));
  }
}

function hashed(index: number, size: number, sha256: string, database: boolean): Hashed {
  const outcome: Hashed = { index, kind: 'hashed', size, sha256 };
  if (database) outcome.database = true;
  return outcome;
}

/** Run quick_check on the hashed files that are databases; the checker is loaded only if there is one. */
async function checkDatabases(jobs: readonly HashJob[], outcomes: HashOutcome[], load: () => Promise<DatabaseChecker>): Promise<void> {
  const databases = outcomes.filter((o): o is Hashed => o.kind === 'hashed' && o.database === true);
  if (databases.length === 0) return;
  const check = await load();
  const files = new Map(jobs.map((job) => [job.index, job.file]));
  for (const outcome of databases) {
    const problem = check(files.get(outcome.index)!);
    if (problem !== undefined) outcome.databaseProblem = problem;
  }
}

const SQLITE_HEADER_BYTES = 16;

/** Whether `file` is a regular file that starts with the SQLite header (a link, a FIFO or a directory is not). */
export function startsAsDatabase(file: string, buffer: Buffer): boolean {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(file), OPEN_FLAGS);
  } catch {
    return false;
  }
  try {
    return fs.fstatSync(fd).isFile() && fs.readSync(fd, buffer, 0, SQLITE_HEADER_BYTES, 0) === SQLITE_HEADER_BYTES && hasSqliteHeader(buffer.subarray(0, SQLITE_HEADER_BYTES));
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** quick_check of the files of a 'check' batch that are databases (the hashing of the same files is another batch). */
async function checkOnly(jobs: readonly HashJob[], load: () => Promise<DatabaseChecker>): Promise<DatabaseProblem[]> {
  const problems: DatabaseProblem[] = [];
  const header = Buffer.alloc(SQLITE_HEADER_BYTES);
  for (const job of jobs) {
    if (!startsAsDatabase(job.file, header)) continue;
    const problem = (await load())(job.file);
    if (problem !== undefined) problems.push({ index: job.index, problem });
  }
  return problems;
}

/** The quick_check of database-check.ts, loaded on first need (with better-sqlite3). */
export async function loadDatabaseChecker(): Promise<DatabaseChecker> {
  const { checkDatabase } = await import('./database-check.js');
  return checkDatabase;
}

/**
 * One bundle's hashing, shared by every worker and the calling thread. The files arrive in
 * batches while the calling thread still walks the payload; each thread claims the next batch
 * it holds from the shared counter (compare-and-swap, so no thread claims a batch it has not
 * been sent yet), so the threads balance themselves and hashing starts with the first batch.
 */
export type RunMessage =
  | { kind: 'run'; payload: string; next: Int32Array }
  | { kind: 'batch'; first: number; files: string[]; mode: BatchMode }
  | { kind: 'end' };

/**
 * What a batch asks for: 'both' hashes its files and quick_checks those that are databases; a
 * large database is sent as a 'hash' batch and a 'check' batch of its own, so that two threads
 * hash and check it at the same time.
 */
export type BatchMode = 'both' | 'hash' | 'check';

/** A batch one thread claimed: its files as jobs, from index `first`. */
export interface Claimed {
  first: number;
  jobs: HashJob[];
  mode: BatchMode;
}

export type WorkerReply = { kind: 'batch'; batch: PackedBatch } | { kind: 'done' };

/** The batches of one run as one thread holds them; `claim` takes the next one (undefined: none held now). */
export class BatchQueue {
  private readonly batches: Array<{ first: number; files: string[]; mode: BatchMode } | undefined> = [];
  ended = false;

  constructor(
    readonly payload: string,
    private readonly next: Int32Array,
  ) {}

  add(first: number, files: string[], mode: BatchMode): void {
    this.batches.push({ first, files, mode });
  }

  claim(): Claimed | undefined {
    for (;;) {
      const b = Atomics.load(this.next, 0);
      if (b >= this.batches.length) return undefined;
      // Batches below the counter were claimed by some thread: let them go.
      for (let gone = b - 1; gone >= 0 && this.batches[gone] !== undefined; gone--) this.batches[gone] = undefined;
      if (Atomics.compareExchange(this.next, 0, b, b + 1) !== b) continue;
      const batch = this.batches[b]!;
      this.batches[b] = undefined;
      const jobs = batch.files.map((rel, k) => ({ index: batch.first + k, file: `${this.payload}/${rel}` }));
      return { first: batch.first, jobs, mode: batch.mode };
    }
  }

  /** Every batch is sent and claimed. */
  get drained(): boolean {
    return this.ended && Atomics.load(this.next, 0) >= this.batches.length;
  }
}

/** Hashes and/or quick_checks one claimed batch, as its mode asks. */
export async function hashBatch(claimed: Claimed, hasher: FileHasher, load: () => Promise<DatabaseChecker>): Promise<PackedBatch> {
  const { first, jobs, mode } = claimed;
  if (mode === 'check') return { ...packBatch(first, []), checks: await checkOnly(jobs, load) };
  const outcomes = hasher.hashAll(jobs);
  if (mode === 'both') await checkDatabases(jobs, outcomes, load);
  return packBatch(first, outcomes);
}

// As a worker thread: take part in each run it is sent, until the parent terminates it.
if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === WORKER_ROLE) {
  const port = parentPort;
  const hasher = new FileHasher();
  let checker: Promise<DatabaseChecker> | undefined;
  const load = (): Promise<DatabaseChecker> => (checker ??= loadDatabaseChecker());
  let queue: BatchQueue | undefined;
  let pumping = false;
  const pump = async (): Promise<void> => {
    if (pumping || queue === undefined) return;
    pumping = true;
    const run = queue;
    for (let claimed = run.claim(); claimed !== undefined; claimed = run.claim()) port.postMessage({ kind: 'batch', batch: await hashBatch(claimed, hasher, load) } satisfies WorkerReply);
    pumping = false;
    if (run !== queue) return void pump();
    if (run.drained) {
      queue = undefined;
      port.postMessage({ kind: 'done' } satisfies WorkerReply);
    }
  };
  port.on('message', (message: RunMessage) => {
    if (message.kind === 'run') queue = new BatchQueue(message.payload, message.next);
    else if (message.kind === 'batch') queue?.add(message.first, message.files, message.mode);
    else if (queue !== undefined) queue.ended = true;
    void pump();
  });
}
