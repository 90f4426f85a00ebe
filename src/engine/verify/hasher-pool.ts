import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../bundle/worker-script.js';
import type { EngineDeps, Progress } from '../deps.js';
import { checkDatabases, FileHasher, loadDatabaseChecker, WORKER_ROLE, type DatabaseChecker, type HashJob, type HashOutcome, type HashRun, type WorkerReply } from './hash-worker.js';

const BATCH_FILES = 256;
const BATCH_BYTES = 8 * 1024 * 1024;

/** One bundle's hashing under way: `finish` hashes what is left on this thread too, then gives every outcome. */
export interface HashRunHandle {
  finish(): Promise<HashOutcome[]>;
}

/**
 * Hashes files on worker threads (each one sync reads into its own buffer); the workers
 * claim batches from a shared counter, so one large file does not leave a core idle and
 * no worker waits for this thread. Once this thread has parsed the manifest it claims
 * batches from the same counter, so no core idles at the end. Database copies are
 * quick_checked by whichever thread hashed them. Small bundles are hashed on the calling
 * thread: starting workers would cost more than it saves.
 */
export class HasherPool {
  used = false;
  private workers: Worker[] | undefined;
  private readonly local = new FileHasher();
  private localChecker: Promise<DatabaseChecker> | undefined;

  constructor(
    private readonly threads: number,
    private readonly parallelFromBytes: number,
  ) {}

  /** Starts the workers ahead of a bundle of `bytes` payload bytes, so they boot while its payload is walked. */
  warm(bytes: number): void {
    if (this.threads > 0 && bytes >= this.parallelFromBytes) this.start();
  }

  /** Starts hashing payload files (relative paths); `bytes` (expected) decides whether workers are worth it. */
  hash(files: string[], payload: string, bytes: number, deps: EngineDeps): HashRunHandle {
    const done: Progress = { files: 0, bytes: 0 };
    const report = (outcomes: HashOutcome[]): void => {
      for (const outcome of outcomes) {
        done.files++;
        if (outcome.kind === 'hashed') done.bytes += outcome.size;
      }
      deps.events.progress?.({ ...done });
    };
    const run: HashRun = { payload, files, bounds: batchBounds(files.length, bytes), next: new Int32Array(new SharedArrayBuffer(4)) };
    const outcomes = new Array<HashOutcome>(files.length);
    const workers = this.worthWorkers(bytes, files.length) ? this.start() : undefined;
    let onWorkers: Promise<void> = Promise.resolve();
    if (workers !== undefined) {
      this.used = true;
      onWorkers = runOnWorkers(workers, run, outcomes, report);
      // Awaited in finish(); this keeps a run that is never finished (an early return) from going unobserved.
      onWorkers.catch(() => undefined);
    }
    let finished: Promise<HashOutcome[]> | undefined;
    const finish = async (): Promise<HashOutcome[]> => {
      await this.hashHere(run, outcomes, report);
      await onWorkers;
      return outcomes;
    };
    return { finish: () => (finished ??= finish()) };
  }

  /** Claims the batches no worker took yet and hashes them on this thread, giving the event loop a turn between them. */
  private async hashHere(run: HashRun, outcomes: HashOutcome[], report: (outcomes: HashOutcome[]) => void): Promise<void> {
    const batches = run.bounds.length - 1;
    for (let b = Atomics.add(run.next, 0, 1); b < batches; b = Atomics.add(run.next, 0, 1)) {
      const jobs: HashJob[] = [];
      for (let i = run.bounds[b]!; i < run.bounds[b + 1]!; i++) jobs.push({ index: i, file: `${run.payload}/${run.files[i]}` });
      const answers = this.local.hashAll(jobs);
      await checkDatabases(jobs, answers, () => (this.localChecker ??= loadDatabaseChecker()));
      for (const answer of answers) outcomes[answer.index] = answer;
      report(answers);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Hash one file again on this thread, reading to EOF; keeps the quick_check answer already found. */
  recheck(file: string, previous: HashOutcome): HashOutcome {
    const again = this.local.hash({ index: previous.index, file, careful: true });
    if (again.kind === 'hashed' && previous.kind === 'hashed' && previous.databaseProblem !== undefined) again.databaseProblem = previous.databaseProblem;
    return again;
  }

  private worthWorkers(bytes: number, files: number): boolean {
    return this.threads > 0 && files > 1 && bytes >= this.parallelFromBytes;
  }

  private start(): Worker[] | undefined {
    if (this.workers) return this.workers;
    const script = compiledWorker('./hash-worker.js', import.meta.url);
    if (script === undefined) return undefined;
    this.workers = Array.from({ length: this.threads }, () => new Worker(script, { workerData: { role: WORKER_ROLE } }));
    return this.workers;
  }

  async close(): Promise<void> {
    const workers = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * Batch boundaries over the file list: BATCH_FILES files, fewer when the bundle's files
 * are large on average (sizes are not known before hashing), so batches stay near BATCH_BYTES.
 */
function batchBounds(count: number, bytes: number): number[] {
  const average = count > 0 ? bytes / count : 0;
  const size = Math.max(1, Math.min(BATCH_FILES, Math.floor(BATCH_BYTES / Math.max(average, 1))));
  const bounds: number[] = [];
  for (let start = 0; start < count; start += size) bounds.push(start);
  bounds.push(count);
  return bounds;
}

/** Every worker joins the run; it is over when each has said it found no batch left. */
function runOnWorkers(workers: Worker[], run: HashRun, outcomes: HashOutcome[], report: (outcomes: HashOutcome[]) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let working = workers.length;
    const cleanup = (): void => {
      for (const worker of workers) {
        worker.removeAllListeners('message');
        worker.removeAllListeners('error');
      }
    };
    for (const worker of workers) {
      worker.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'batch') {
          for (const outcome of reply.outcomes) outcomes[outcome.index] = outcome;
          report(reply.outcomes);
          return;
        }
        if (--working === 0) {
          cleanup();
          resolve();
        }
      });
      worker.on('error', (error) => {
        cleanup();
        reject(error);
      });
      worker.postMessage(run);
    }
  });
}
