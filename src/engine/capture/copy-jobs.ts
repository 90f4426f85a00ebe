import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../bundle/worker-script.js';
import { copyFileHashed, type CopyOutcome } from './copy.js';

export interface CopyJob {
  source: string;
  dest: string;
  mode: number;
  size: number;
}

export type JobOutcome = CopyOutcome | { kind: 'vanished' } | { kind: 'error'; code: string; message: string };

/** Runs one copy job in this thread. Errors are returned, not thrown, so a worker can report them. */
export function copyJob(job: CopyJob): JobOutcome {
  try {
    return copyFileHashed(job.source, job.dest, job.mode, { size: job.size });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    return code === 'ENOENT' ? { kind: 'vanished' } : { kind: 'error', code, message: (error as Error).message };
  }
}

/** What a copy worker is sent and sends back: a batch of jobs, numbered by the first one's position. */
export interface CopyBatch {
  first: number;
  jobs: CopyJob[];
}
export interface CopyBatchDone {
  first: number;
  outcomes: JobOutcome[];
}

/** A batch ends at this many files or bytes, whichever comes first: each message costs both threads a little. */
const BATCH_FILES = 128;
const BATCH_BYTES = 8 * 1024 * 1024;
/** Below this many files starting the workers costs more than it saves. */
const PARALLEL_MIN_JOBS = 400;
/** Inline, a turn of the event loop after this many files: a signal handler runs there. */
const INLINE_SLICE = 256;

/**
 * Copies and hashes `count` files, job k built by `jobAt(k)` only when its batch is sent, and
 * `settled(k, outcome)` called on this thread as its batch comes back: so no list of every job or
 * outcome is ever held. On `workers` threads (hashing is CPU-bound) when there are enough files,
 * each worker pulling a new batch as it returns one (two in hand, so it never waits); else on this
 * thread, a slice at a time. Give the heaviest jobs first, so no core is left with one big file at the end.
 */
export async function copyStream(
  count: number,
  jobAt: (k: number) => CopyJob,
  settled: (k: number, outcome: JobOutcome) => void,
  onProgress: (files: number, bytes: number) => void,
  workers = 2,
): Promise<void> {
  const script = count >= PARALLEL_MIN_JOBS && workers >= 2 ? compiledWorker('./copy-worker.js', import.meta.url) : undefined;
  if (script === undefined) {
    for (let k = 0; k < count; k++) {
      if (k > 0 && k % INLINE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const job = jobAt(k);
      settled(k, copyJob(job));
      onProgress(1, job.size);
    }
    return;
  }
  let next = 0;
  const batchBytes = new Map<number, number>();
  const take = (): CopyBatch | undefined => {
    if (next >= count) return undefined;
    const batch: CopyBatch = { first: next, jobs: [] };
    let bytes = 0;
    while (next < count && batch.jobs.length < BATCH_FILES && bytes < BATCH_BYTES) {
      const job = jobAt(next++);
      batch.jobs.push(job);
      bytes += job.size;
    }
    batchBytes.set(batch.first, bytes);
    return batch;
  };
  const threads: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      const send = (worker: Worker): void => {
        const batch = take();
        if (batch === undefined) return;
        inFlight++;
        worker.postMessage(batch);
      };
      for (let w = 0; w < workers; w++) {
        const worker = new Worker(script);
        threads.push(worker);
        worker.on('message', (done: CopyBatchDone) => {
          inFlight--;
          done.outcomes.forEach((outcome, i) => settled(done.first + i, outcome));
          onProgress(done.outcomes.length, batchBytes.get(done.first) ?? 0);
          batchBytes.delete(done.first);
          send(worker);
          if (inFlight === 0) resolve();
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`copy worker exited with code ${code}`)));
        send(worker);
        send(worker);
      }
      if (inFlight === 0) resolve();
    });
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}
