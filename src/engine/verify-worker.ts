import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ClawbackError } from '../errors.js';

/** One payload file to re-hash; `index` lets the caller put the answer back in place. */
export interface HashJob {
  index: number;
  file: string;
  /** The size the manifest records: reading stops at a short read there, saving a read per file. */
  size: number;
  /** Also run quick_check (a database copy). */
  database?: boolean;
  /** Shown in quick_check messages. */
  label?: string;
}

export type HashOutcome =
  | { index: number; kind: 'hashed'; size: number; sha256: string; databaseProblem?: string }
  | { index: number; kind: 'missing' }
  | { index: number; kind: 'not-a-file' }
  | { index: number; kind: 'unreadable'; code: string };

export type DatabaseChecker = (file: string, label: string) => string | undefined;

export const WORKER_ROLE = 'clawback-verify-hasher';

const CHUNK = 1024 * 1024;
// O_NONBLOCK: should a FIFO appear where a file was, open and read fail instead of hanging.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/**
 * Hashes files with sync reads into one reused buffer: memory stays flat
 * whatever the file size, and a sync read costs a fraction of an async one.
 */
export class FileHasher {
  private readonly buffer = Buffer.allocUnsafe(CHUNK);

  hash(job: HashJob, checkDatabase?: DatabaseChecker): HashOutcome {
    let fd: number;
    try {
      fd = fs.openSync(job.file, OPEN_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') return { index: job.index, kind: 'missing' };
      if (code === 'ELOOP') return { index: job.index, kind: 'not-a-file' };
      return { index: job.index, kind: 'unreadable', code };
    }
    let outcome: HashOutcome;
    try {
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        const read = fs.readSync(fd, this.buffer, 0, CHUNK, null);
        if (read === 0) break;
        hash.update(this.buffer.subarray(0, read));
        size += read;
        // A short read of a regular file is its end; where that is the expected size, the EOF read is saved.
        if (read < CHUNK && size === job.size) break;
      }
      outcome = { index: job.index, kind: 'hashed', size, sha256: hash.digest('hex') };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EISDIR') return { index: job.index, kind: 'not-a-file' };
      return { index: job.index, kind: 'unreadable', code };
    } finally {
      fs.closeSync(fd);
    }
    if (job.database && checkDatabase) {
      const problem = checkDatabase(job.file, job.label ?? job.file);
      if (problem !== undefined) outcome.databaseProblem = problem;
    }
    return outcome;
  }

  hashAll(jobs: readonly HashJob[], checkDatabase?: DatabaseChecker): HashOutcome[] {
    return jobs.map((job) => this.hash(job, checkDatabase));
  }
}

/** quick_check through a read-only connection, so the bundle stays byte for byte as it was. Loaded on first need: better-sqlite3 costs tens of ms to load. */
export async function loadDatabaseChecker(): Promise<DatabaseChecker> {
  const { quickCheck } = await import('../sqlite/backup.js');
  return (file, label) => {
    try {
      quickCheck(file, label, { readonly: true });
      return undefined;
    } catch (error) {
      if (error instanceof ClawbackError) return error.message.startsWith(`${label}: `) ? error.message.slice(label.length + 2) : error.message;
      return `not a readable SQLite database (${(error as Error).message})`;
    }
  };
}

// As a worker thread: answer each batch of jobs with its outcomes, until the parent terminates it.
if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === WORKER_ROLE) {
  const port = parentPort;
  const hasher = new FileHasher();
  let checker: Promise<DatabaseChecker> | undefined;
  port.on('message', (jobs: HashJob[]) => {
    if (!jobs.some((job) => job.database)) {
      port.postMessage(hasher.hashAll(jobs));
      return;
    }
    checker ??= loadDatabaseChecker();
    void checker.then((check) => port.postMessage(hasher.hashAll(jobs, check)));
  });
}
