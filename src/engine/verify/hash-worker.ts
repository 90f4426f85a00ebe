import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ClawbackError } from '../../errors.js';
import { threadReader, type FileDigest } from '../../fs-safety/file-reader.js';
import { hasSqliteHeader } from '../../sqlite/detect.js';

/** One payload file to re-hash; `index` lets the caller put the answer back in place. */
export interface HashJob {
  index: number;
  file: string;
  /** Read to EOF even after a short read (a re-check before a mismatch is reported). */
  careful?: boolean;
}

export interface Hashed {
  index: number;
  kind: 'hashed';
  size: number;
  sha256: string;
  /** The file starts with the SQLite header. */
  database?: true;
  /** What quick_check found, when it ran and did not answer ok. */
  databaseProblem?: string;
}

export type HashOutcome =
  | Hashed
  | { index: number; kind: 'missing' }
  | { index: number; kind: 'not-a-file' }
  | { index: number; kind: 'unreadable'; code: string };

/** quick_check of one file: undefined when ok, else what is wrong. */
export type DatabaseChecker = (file: string) => string | undefined;

export const WORKER_ROLE = 'clawback-verify-hasher';

// O_NONBLOCK: should a FIFO appear where a file was, open and read fail instead of hanging.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/**
 * Hashes payload files through this thread's FileReader (memory stays flat whatever the
 * file size). A short read is taken as the end of a file; a mismatch is re-read with
 * `careful` before it is reported. Files with the SQLite header are marked, for `checkDatabases`.
 */
export class FileHasher {
  private readonly reader = threadReader();

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
    let database = false;
    let digest: FileDigest | undefined;
    try {
      digest = this.reader.hash(fd, {
        trustShortRead: job.careful !== true,
        each: (chunk, offset) => {
          if (offset === 0) database = hasSqliteHeader(chunk);
        },
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EISDIR') return { index: job.index, kind: 'not-a-file' };
      return { index: job.index, kind: 'unreadable', code };
    } finally {
      fs.closeSync(fd);
    }
    const outcome: Hashed = { index: job.index, kind: 'hashed', size: digest!.size, sha256: digest!.sha256 };
    if (database) outcome.database = true;
    return outcome;
  }

  hashAll(jobs: readonly HashJob[]): HashOutcome[] {
    return jobs.map((job) => this.hash(job));
  }
}

/** Run quick_check on the hashed files that are databases; the checker is loaded only if there is one. */
export async function checkDatabases(jobs: readonly HashJob[], outcomes: HashOutcome[], load: () => Promise<DatabaseChecker>): Promise<void> {
  const databases = outcomes.filter((o): o is Hashed => o.kind === 'hashed' && o.database === true);
  if (databases.length === 0) return;
  const check = await load();
  const files = new Map(jobs.map((job) => [job.index, job.file]));
  for (const outcome of databases) {
    const problem = check(files.get(outcome.index)!);
    if (problem !== undefined) outcome.databaseProblem = problem;
  }
}

/**
 * quick_check through a read-only connection, so the bundle stays byte for byte as it was.
 * Loaded on first need: better-sqlite3 takes tens of ms to load.
 */
export async function loadDatabaseChecker(): Promise<DatabaseChecker> {
  const { quickCheck } = await import('../../sqlite/backup.js');
  return (file) => {
    try {
      // Mapped: a published bundle's files are never written or truncated while it exists.
      quickCheck(file, '', { readonly: true });
      return undefined;
    } catch (error) {
      if (error instanceof ClawbackError) return error.message.replace(/^: /, '');
      return `not a readable SQLite database (${(error as Error).message})`;
    }
  };
}

/**
 * One bundle's hashing, shared by every worker: each claims the next batch from a shared
 * counter, so the workers balance themselves without waiting for the main thread (which
 * is busy parsing the manifest meanwhile).
 */
export interface HashRun {
  payload: string;
  /** Payload-relative paths; an outcome's index is its place here. */
  files: string[];
  /** Batch b is files[bounds[b]] up to files[bounds[b + 1]]. */
  bounds: number[];
  /** Int32Array over a SharedArrayBuffer: the next unclaimed batch. */
  next: Int32Array;
}

export type WorkerReply = { kind: 'batch'; outcomes: HashOutcome[] } | { kind: 'done' };

async function hashRun(run: HashRun, hasher: FileHasher, load: () => Promise<DatabaseChecker>, send: (reply: WorkerReply) => void): Promise<void> {
  const batches = run.bounds.length - 1;
  for (let b = Atomics.add(run.next, 0, 1); b < batches; b = Atomics.add(run.next, 0, 1)) {
    const jobs: HashJob[] = [];
    for (let i = run.bounds[b]!; i < run.bounds[b + 1]!; i++) jobs.push({ index: i, file: `${run.payload}/${run.files[i]}` });
    const outcomes = hasher.hashAll(jobs);
    await checkDatabases(jobs, outcomes, load);
    send({ kind: 'batch', outcomes });
  }
  send({ kind: 'done' });
}

// As a worker thread: take part in each hash run it is sent, until the parent terminates it.
if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === WORKER_ROLE) {
  const port = parentPort;
  const hasher = new FileHasher();
  let checker: Promise<DatabaseChecker> | undefined;
  const load = (): Promise<DatabaseChecker> => (checker ??= loadDatabaseChecker());
  port.on('message', (run: HashRun) => {
    void hashRun(run, hasher, load, (reply) => port.postMessage(reply));
  });
}
