import type { Worker } from 'node:worker_threads';
import type { EngineDeps, Progress } from '../deps.js';
import { OutcomeTable, type PackedBatch } from './file-table.js';
import { dropHashers, startHashers, takeHashers } from './prestart.js';
import { BatchQueue, FileHasher, hashBatch, loadDatabaseChecker, type BatchMode, type DatabaseChecker, type HashOutcome, type RunMessage, type WorkerReply } from './hash-worker.js';

/** Files per batch: the walk hands them out this many at a time, before any size is known. */
const BATCH_FILES = 128;

/**
 * One bundle's hashing under way: `add` hands out files as the payload walk finds them (their
 * index is their place in the order added), `end` says there are no more, and `finish` hashes
 * what no worker has taken yet on this thread too, then gives every outcome.
 */
export interface HashRunHandle {
  add(rel: string): void;
  /**
   * Adds database copies, largest first, to be hashed and checked first, by two threads at once,
   * while others take the rest: the largest hashed in a batch of its own, then every one of them
   * quick_checked in one batch (one thread loads better-sqlite3, not each), then the others hashed.
   */
  addDatabases(rels: readonly string[]): void;
  /** Takes the next index without hashing anything for it (a file the caller vouches for otherwise). */
  skip(): void;
  end(): void;
  finish(): Promise<OutcomeTable>;
}

/**
 * Hashes files on worker threads (each one sync reads into its own buffer) while this thread
 * is still walking the payload: batches go to every worker as they fill, and each thread claims
 * the next one from a shared counter, so one large file does not leave a core idle and no
 * worker waits for this thread. Once this thread has compared the inventory it claims batches
 * from the same counter, so no core idles at the end. Database copies are quick_checked by
 * whichever thread hashed them. Small bundles are hashed on the calling thread: starting
 * workers would cost more than it saves.
 */
export class HasherPool {
  used = false;
  private workers: Worker[] | undefined;
  private readonly local = new FileHasher();
  private localChecker: Promise<DatabaseChecker> | undefined;
  private released: Promise<void> | undefined;

  constructor(
    private readonly threads: number,
    private readonly parallelFromBytes: number,
  ) {}

  /**
   * Lets workers prestarted for this verify (prestart.ts) go at once, mid-boot, when none of the
   * bundles to verify (their expected payload bytes) is large enough to be hashed on workers.
   */
  release(bundleBytes: readonly number[]): void {
    if (this.threads > 0 && bundleBytes.some((bytes) => bytes >= this.parallelFromBytes)) return;
    this.released = dropHashers();
  }

  /** Starts the workers ahead of a bundle of `bytes` payload bytes, so they boot while its payload is walked. */
  warm(bytes: number): void {
    if (this.threads > 0 && bytes >= this.parallelFromBytes) this.start();
  }

  /**
   * Starts a run over `payload`; `bytes` (expected) and `files` (expected) decide whether workers are
   * worth it. Without `quickCheck`, database copies are hashed alone, like any file.
   */
  begin(payload: string, bytes: number, files: number, deps: EngineDeps, quickCheck = true): HashRunHandle {
    const done: Progress = { files: 0, bytes: 0 };
    const outcomes = new OutcomeTable();
    const settle = (batch: PackedBatch): void => {
      const stored = outcomes.put(batch);
      done.files += stored.files;
      done.bytes += stored.bytes;
      deps.events.progress?.({ ...done });
    };
    const next = new Int32Array(new SharedArrayBuffer(4));
    const queue = new BatchQueue(payload, next);
    const workers = this.worthWorkers(bytes, files) ? this.start() : undefined;
    const send = (message: RunMessage): void => workers?.forEach((w) => w.postMessage(message));
    let onWorkers: Promise<void> = Promise.resolve();
    if (workers !== undefined) {
      this.used = true;
      onWorkers = runOnWorkers(workers, settle);
      // Awaited in finish(); this keeps a run that is never finished (an early return) from going unobserved.
      onWorkers.catch(() => undefined);
      send({ kind: 'run', payload, next });
    }
    let count = 0;
    let pending: string[] = [];
    const hand = (first: number, files: string[], mode: BatchMode): void => {
      queue.add(first, files, mode);
      send({ kind: 'batch', first, files, mode });
    };
    const plain: BatchMode = quickCheck ? 'both' : 'hash';
    const flush = (mode: BatchMode = plain): void => {
      if (pending.length === 0) return;
      hand(count - pending.length, pending, mode);
      pending = [];
    };
    const end = (): void => {
      if (queue.ended) return;
      flush();
      queue.ended = true;
      send({ kind: 'end' });
    };
    let finished: Promise<OutcomeTable> | undefined;
    const finish = async (): Promise<OutcomeTable> => {
      end();
      await this.hashHere(queue, settle);
      await onWorkers;
      return outcomes;
    };
    return {
      add: (rel) => {
        pending.push(rel);
        count++;
        if (pending.length >= BATCH_FILES) flush();
      },
      addDatabases: (rels) => {
        if (rels.length === 0) return;
        flush();
        const first = count;
        count += rels.length;
        hand(first, rels.slice(0, 1), 'hash');
        if (quickCheck) hand(first, rels.slice(), 'check');
        if (rels.length > 1) hand(first + 1, rels.slice(1), 'hash');
      },
      skip: () => {
        flush();
        count++;
      },
      end,
      finish: () => (finished ??= finish()),
    };
  }

  /** Claims the batches no worker took yet and hashes them on this thread, giving the event loop a turn between them. */
  private async hashHere(queue: BatchQueue, settle: (batch: PackedBatch) => void): Promise<void> {
    const load = (): Promise<DatabaseChecker> => (this.localChecker ??= loadDatabaseChecker());
    for (let claimed = queue.claim(); claimed !== undefined; claimed = queue.claim()) {
      settle(await hashBatch(claimed, this.local, load));
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
    // Workers prestarted by the command (prestart.ts) have had a head start on their boot.
    this.workers ??= takeHashers(this.threads) ?? startHashers(this.threads);
    return this.workers;
  }

  async close(): Promise<void> {
    const workers = this.workers ?? [];
    this.workers = undefined;
    await Promise.all([...workers.map((w) => w.terminate()), dropHashers(), this.released]);
  }
}

/** Every worker joins the run; it is over when each has said it found no batch left. */
function runOnWorkers(workers: Worker[], settle: (batch: PackedBatch) => void): Promise<void> {
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
        if (reply.kind === 'batch') return settle(reply.batch);
        if (--working === 0) {
          cleanup();
          resolve();
        }
      });
      worker.on('error', (error) => {
        cleanup();
        reject(error);
      });
    }
  });
}
