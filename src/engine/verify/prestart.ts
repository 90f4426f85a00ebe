import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../bundle/worker-script.js';
import { WORKER_ROLE } from './file-table.js';

/*
 * Verify's hashing workers, started before anything else of a verify loads: a worker takes
 * 50–250 ms to boot (most of it Node's own start-up in the new thread), and booted this early it
 * does so while the calling thread still loads the verify modules, reads the sandbox's bundles and
 * walks the payload. This module is kept tiny (node:worker_threads, the worker-script lookup and
 * file-table.ts, which the worker loads too) so that starting the workers costs the caller next to
 * nothing.
 */

/** At most this many hashing workers, whatever the core count. */
const MAX_THREADS = 4;

/**
 * One worker per core but one (at most 4), none on one core: the calling thread hashes too once it
 * has compared the inventory, so a worker per core would only add a thread to boot for no more
 * cores. The load average is not asked: it counts this clawback's own work of the last minute, and
 * a busy machine shares its cores among processes, not threads.
 */
export function defaultThreads(parallelism: number): number {
  return parallelism < 2 ? 0 : Math.min(parallelism - 1, MAX_THREADS);
}

/** Starts `count` hashing workers (each idles until it is sent a run); undefined when no compiled worker exists. */
export function startHashers(count: number): Worker[] | undefined {
  const script = compiledWorker('./hash-worker.js', import.meta.url);
  if (script === undefined || count <= 0) return undefined;
  return Array.from({ length: count }, () => new Worker(script, { workerData: { role: WORKER_ROLE } }));
}

interface Waiting {
  workers: Worker[];
  failed: boolean;
}

let waiting: Waiting | undefined;

/**
 * Starts the default number of hashing workers ahead of a verify, for `takeHashers` to adopt.
 * Until adopted they do not keep the process alive, and a worker that fails to boot is only
 * remembered (its set is then not adopted). Starting again while some wait does nothing.
 */
export function prestartHashers(parallelism: number): void {
  if (waiting !== undefined) return;
  const workers = startHashers(defaultThreads(parallelism));
  if (workers === undefined) return;
  const set: Waiting = { workers, failed: false };
  for (const worker of workers) {
    worker.unref();
    worker.once('error', () => {
      set.failed = true;
    });
  }
  waiting = set;
}

/**
 * The prestarted workers, when there are exactly `count` of them and all booted without an error
 * so far: they keep the process alive again from here on, and belong to the caller (who terminates
 * them). Any others are terminated. Undefined when there are none to adopt.
 */
export function takeHashers(count: number): Worker[] | undefined {
  const set = waiting;
  waiting = undefined;
  if (set === undefined) return undefined;
  if (set.failed || set.workers.length !== count) {
    for (const worker of set.workers) void worker.terminate();
    return undefined;
  }
  for (const worker of set.workers) {
    worker.removeAllListeners('error');
    worker.ref();
  }
  return set.workers;
}

/** Terminates prestarted workers nobody adopted (a verify that hashed on its own thread, or stopped early). */
export async function dropHashers(): Promise<void> {
  const set = waiting;
  waiting = undefined;
  await Promise.all((set?.workers ?? []).map((worker) => worker.terminate()));
}
