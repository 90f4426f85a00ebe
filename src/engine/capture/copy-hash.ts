import { Worker } from 'node:worker_threads';
import { threadReader, type FileDigest } from '../../fs-safety/file-reader.js';
import { compiledWorker } from '../bundle/worker-script.js';

/** Below this a worker's start-up (tens of ms, ~10 MiB) costs more than hashing beside quick_check saves. */
const WORKER_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Hashes a database copy once it is final. A large one is hashed on a worker thread, started
 * before the copy is taken (so its start-up overlaps the backup) and handed the file when
 * SQLite's quick_check begins on this thread: the two reads of the copy run on both cores.
 * Small ones, and builds without the compiled worker (tests run from source), hash on this thread.
 */
export interface CopyHasher {
  hash(file: string): Promise<FileDigest>;
  /** Stops a worker that was never handed a file (the copy failed). */
  cancel(): void;
}

export function copyHasher(expectedBytes: number): CopyHasher {
  const script = expectedBytes < WORKER_MIN_BYTES ? undefined : compiledWorker('./copy-hash-worker.js', import.meta.url);
  if (script === undefined) return { hash: (file) => new Promise<FileDigest>((resolve) => resolve(threadReader().hashFile(file))), cancel: () => undefined };
  const worker = new Worker(script);
  // Until it is handed a file, the idle worker must not keep the process alive.
  worker.unref();
  let failed = false;
  worker.once('error', () => (failed = true));
  return {
    hash: (file) =>
      new Promise<FileDigest>((resolve) => {
        // Any failure of the worker only costs time: this thread hashes instead, and reports its errors as before.
        const inline = (): void => resolve(new Promise<FileDigest>((done) => done(threadReader().hashFile(file))));
        if (failed) return inline();
        let settled = false;
        const settle = (then: () => void): void => {
          if (settled) return;
          settled = true;
          then();
          void worker.terminate();
        };
        worker.once('message', (reply: { digest?: FileDigest }) => settle(() => (reply.digest !== undefined ? resolve(reply.digest) : inline())));
        worker.once('error', () => settle(inline));
        worker.once('exit', () => settle(inline));
        worker.ref();
        worker.postMessage(file);
      }),
    cancel: () => void worker.terminate(),
  };
}
