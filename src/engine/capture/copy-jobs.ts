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

/** Runs copy jobs in this thread. Errors are returned, not thrown, so a worker can report them. */
export function copyJobs(jobs: CopyJob[], onProgress?: (files: number, bytes: number) => void): JobOutcome[] {
  let files = 0;
  let bytes = 0;
  const outcomes = jobs.map((job) => {
    let outcome: JobOutcome;
    try {
      outcome = copyFileHashed(job.source, job.dest, job.mode, { size: job.size });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      outcome = code === 'ENOENT' ? { kind: 'vanished' } : { kind: 'error', code, message: (error as Error).message };
    }
    files++;
    bytes += job.size;
    if (onProgress && files % 256 === 0) {
      onProgress(files, bytes);
      files = 0;
      bytes = 0;
    }
    return outcome;
  });
  // The last files since a report count too, or a bar would never reach its total.
  if (onProgress && files > 0) onProgress(files, bytes);
  return outcomes;
}

const INLINE_SLICE = 256;

/**
 * copyJobs on this thread, a slice at a time with a turn of the event loop between slices: a signal
 * handler runs there, so a Ctrl-C during a long inline copy (one core, or a loaded machine) is not
 * held until the copy ends.
 */
async function copyJobsInline(jobs: CopyJob[], onProgress: (files: number, bytes: number) => void): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = [];
  for (let start = 0; start < jobs.length; start += INLINE_SLICE) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    outcomes.push(...copyJobs(jobs.slice(start, start + INLINE_SLICE), onProgress));
  }
  return outcomes;
}

type WorkerMessage = { type: 'progress'; files: number; bytes: number } | { type: 'done'; outcomes: JobOutcome[] };

const PARALLEL_MIN_JOBS = 400;

/**
 * Copies and hashes files on two worker threads when there are enough of them
 * to pay for starting the workers (both cores; hashing is CPU-bound), else inline.
 * Jobs are dealt round-robin by size so the two halves carry similar bytes.
 */
export async function copyJobsParallel(jobs: CopyJob[], onProgress: (files: number, bytes: number) => void, workers = 2): Promise<JobOutcome[]> {
  const script = jobs.length >= PARALLEL_MIN_JOBS && workers >= 2 ? compiledWorker('./copy-worker.js', import.meta.url) : undefined;
  if (script === undefined) return copyJobsInline(jobs, onProgress);
  const order = jobs.map((job, index) => ({ job, index })).sort((a, b) => b.job.size - a.job.size);
  const shares: Array<Array<{ job: CopyJob; index: number }>> = Array.from({ length: workers }, () => []);
  const load = new Array<number>(workers).fill(0);
  for (const item of order) {
    let target = 0;
    for (let w = 1; w < workers; w++) if (load[w]! < load[target]!) target = w;
    shares[target]!.push(item);
    // a file costs its bytes plus a fixed per-file overhead (open/close/create)
    load[target]! += item.job.size + 16 * 1024;
  }
  const results = new Array<JobOutcome>(jobs.length);
  await Promise.all(
    shares.map(
      (share) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(script, { workerData: { jobs: share.map((s) => s.job) } });
          worker.on('message', (message: WorkerMessage) => {
            if (message.type === 'progress') {
              onProgress(message.files, message.bytes);
              return;
            }
            message.outcomes.forEach((outcome, i) => {
              results[share[i]!.index] = outcome;
            });
            resolve();
          });
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`copy worker exited with code ${code}`));
          });
        }),
    ),
  );
  return results;
}
