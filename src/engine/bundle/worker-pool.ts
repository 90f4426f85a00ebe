import { parentPort, Worker, workerData } from 'node:worker_threads';
import { ClawbackError, IntegrityError } from '../../errors.js';

/**
 * Jobs on worker threads, the way snapshot create copies files: the jobs are dealt by weight
 * (bytes plus a fixed cost per file) into one share per worker, each worker runs its share with
 * sync fs calls and sends back the outcomes a few at a time, so the caller can count progress
 * as it goes. The caller's thread stays free: a Ctrl-C (`signal`) stops the workers.
 */

/** A job's outcome, or the error it threw, as it crosses the thread boundary. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: WireError };

/** An error reduced to what survives structured cloning, rebuilt on the calling thread by `rebuildError`. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** ClawbackError: its code, exit code, hint and details; an OS error: its errno name and where. */
  code?: string;
  exitCode?: number;
  hint?: string;
  details?: string[];
  errno?: number;
  syscall?: string;
  path?: string;
}

interface Share<J> {
  jobs: J[];
}

/** Jobs `first` to `first + count - 1` of the share settled; `outcomes` only holds what is not a plain success (null). */
type Report<O> = { type: 'settled'; first: number; count: number; outcomes: Array<[offset: number, outcome: Settled<O>]> } | { type: 'done' };

/** Outcomes are sent this many at a time (and at the end): each message costs both threads a little. */
const REPORT_EVERY = 128;
/** A file costs its bytes plus this much (open, create, close). */
const PER_JOB_BYTES = 16 * 1024;

export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const wire: WireError = { name: error.name, message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) };
  if (error instanceof ClawbackError) Object.assign(wire, { code: error.code, exitCode: error.exitCode, details: error.details, ...(error.hint !== undefined ? { hint: error.hint } : {}) });
  else {
    const os = error as NodeJS.ErrnoException;
    for (const key of ['code', 'errno', 'syscall', 'path'] as const) if (os[key] !== undefined) Object.assign(wire, { [key]: os[key] });
  }
  return wire;
}

/** The error a job threw on a worker, as the same kind of error here: a ClawbackError with its code and exit code, or an OS error with its errno. */
export function rebuildError(wire: WireError): Error {
  let error: Error;
  if (wire.exitCode !== undefined && wire.code !== undefined) {
    const options = { ...(wire.hint !== undefined ? { hint: wire.hint } : {}), details: wire.details ?? [] };
    error = wire.name === 'IntegrityError' ? new IntegrityError(wire.code, wire.message, options) : new ClawbackError(wire.code, wire.exitCode as ClawbackError['exitCode'], wire.message, options);
  } else {
    error = new Error(wire.message);
    for (const key of ['code', 'errno', 'syscall', 'path'] as const) if (wire[key] !== undefined) Object.assign(error, { [key]: wire[key] });
  }
  error.name = wire.name;
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

/** Deals jobs (heaviest first) to the share that carries the least so far; returns each share's job indexes. */
function deal(weights: readonly number[], workers: number): number[][] {
  const order = weights.map((weight, index) => ({ weight, index })).sort((a, b) => b.weight - a.weight);
  const shares: number[][] = Array.from({ length: workers }, () => []);
  const load = new Array<number>(workers).fill(0);
  for (const { weight, index } of order) {
    let target = 0;
    for (let w = 1; w < workers; w++) if (load[w]! < load[target]!) target = w;
    shares[target]!.push(index);
    load[target]! += weight + PER_JOB_BYTES;
  }
  return shares.filter((share) => share.length > 0);
}

/** Thrown by runOnWorkerPool when `signal` aborted it; the workers have stopped by then. */
export class PoolAborted extends Error {}

/**
 * Runs `jobs` on `workers` threads of `script` (a module that calls `serveJobs`), calling
 * `settled(index, outcome)` on this thread as each finishes. Resolves once every worker is done;
 * when `signal` aborts, stops the workers and rejects with PoolAborted after they have stopped.
 */
export async function runOnWorkerPool<J, O>(
  script: string,
  jobs: readonly J[],
  weights: readonly number[],
  workers: number,
  settled: (index: number, outcome: Settled<O>) => void,
  signal?: AbortSignal,
): Promise<void> {
  const threads: Worker[] = [];
  let aborted = false;
  const stopAll = async (): Promise<void> => {
    await Promise.all(threads.map((t) => t.terminate()));
  };
  const onAbort = (): void => {
    aborted = true;
    void stopAll();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      deal(weights, workers).map(
        (indexes) =>
          new Promise<void>((resolve, reject) => {
            const share: Share<J> = { jobs: indexes.map((i) => jobs[i]!) };
            const worker = new Worker(script, { workerData: share });
            threads.push(worker);
            worker.on('message', (report: Report<O>) => {
              if (report.type === 'done') return resolve();
              const special = new Map(report.outcomes);
              for (let k = 0; k < report.count; k++) settled(indexes[report.first + k]!, special.get(k) ?? ({ ok: true, value: null } as Settled<O>));
            });
            worker.once('error', (error) => {
              void stopAll();
              reject(error);
            });
            worker.once('exit', (code) => (aborted ? reject(new PoolAborted('interrupted')) : code === 0 ? resolve() : reject(new Error(`worker exited with code ${code}`))));
          }),
      ),
    );
  } catch (error) {
    await stopAll();
    throw aborted ? new PoolAborted('interrupted') : error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (aborted) throw new PoolAborted('interrupted');
}

/** In a worker script: runs the share of jobs this worker was given, sending outcomes back as they settle. */
export async function serveJobs<J, O>(run: (job: J) => O | Promise<O>): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const { jobs } = workerData as Share<J>;
  let outcomes: Array<[number, Settled<O>]> = [];
  let first = 0;
  let count = 0;
  const flush = (): void => {
    if (count === 0) return;
    port.postMessage({ type: 'settled', first, count, outcomes } satisfies Report<O>);
    first += count;
    count = 0;
    outcomes = [];
  };
  for (const job of jobs) {
    try {
      const value = await run(job);
      if (value !== null) outcomes.push([count, { ok: true, value }]);
    } catch (error) {
      outcomes.push([count, { ok: false, error: toWireError(error) }]);
    }
    if (++count >= REPORT_EVERY) flush();
  }
  flush();
  port.postMessage({ type: 'done' } satisfies Report<O>);
}
