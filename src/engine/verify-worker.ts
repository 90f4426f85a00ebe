import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** One payload file to re-hash; `index` lets the caller put the answer back in place. */
export interface HashJob {
  index: number;
  file: string;
}

export type HashOutcome =
  | { index: number; kind: 'hashed'; size: number; sha256: string }
  | { index: number; kind: 'missing' }
  | { index: number; kind: 'not-a-file' }
  | { index: number; kind: 'unreadable'; code: string };

export const WORKER_ROLE = 'clawback-verify-hasher';

const CHUNK = 1024 * 1024;

/**
 * Hashes files with sync reads into one reused buffer: memory stays flat
 * whatever the file size, and a sync read costs a fraction of an async one.
 */
export class FileHasher {
  private readonly buffer = Buffer.allocUnsafe(CHUNK);

  hash(job: HashJob): HashOutcome {
    let fd: number;
    try {
      fd = fs.openSync(job.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') return { index: job.index, kind: 'missing' };
      if (code === 'ELOOP') return { index: job.index, kind: 'not-a-file' };
      return { index: job.index, kind: 'unreadable', code };
    }
    try {
      if (!fs.fstatSync(fd).isFile()) return { index: job.index, kind: 'not-a-file' };
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        const read = fs.readSync(fd, this.buffer, 0, CHUNK, null);
        if (read === 0) break;
        hash.update(this.buffer.subarray(0, read));
        size += read;
      }
      return { index: job.index, kind: 'hashed', size, sha256: hash.digest('hex') };
    } catch (error) {
      return { index: job.index, kind: 'unreadable', code: (error as NodeJS.ErrnoException).code ?? 'EIO' };
    } finally {
      fs.closeSync(fd);
    }
  }

  hashAll(jobs: readonly HashJob[]): HashOutcome[] {
    return jobs.map((job) => this.hash(job));
  }
}

// As a worker thread: answer each batch of jobs with its outcomes, until the parent closes the port.
if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === WORKER_ROLE) {
  const port = parentPort;
  const hasher = new FileHasher();
  port.on('message', (jobs: HashJob[]) => {
    port.postMessage(hasher.hashAll(jobs));
  });
}
