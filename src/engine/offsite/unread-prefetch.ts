import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../bundle/worker-script.js';
import { batchBytes, batchViews, VERDICT_UNREAD, type UnreadPlaces } from './unread-stat.js';

const BATCH_FILES = 256;
/** How long the check waits for one batch's answers before it hashes every file not answered yet. */
const WAIT_MS = 20_000;

interface Batch {
  count: number;
  sizes: Float64Array;
  verdicts: Int32Array;
}

/**
 * unreadSize's two lstats per file (unread-stat.ts), made on a worker thread batch by batch as the
 * walk hands the files over, while this thread walks on and then reads both inventories: a file's
 * answer is waited for (Atomics.wait on its batch) only when the inventory comparison asks for it.
 * A worker that does not answer (it failed, or the machine stalled past the budget) costs hashing:
 * a file without an answer is hashed, never taken unread.
 */
export class UnreadPrefetch {
  private pending: string[] = [];
  private readonly batches: Batch[] = [];
  /** By file index: 1 + its place among the batched files (batch × BATCH_FILES + slot); 0: not batched. */
  private places = new Int32Array(1024);
  private broken = false;

  /** The prefetch, its worker starting now; undefined where no compiled worker exists (the caller lstats itself). */
  static start(places: UnreadPlaces): UnreadPrefetch | undefined {
    const script = compiledWorker('./unread-worker.js', import.meta.url);
    return script === undefined ? undefined : new UnreadPrefetch(new Worker(script, { workerData: places }));
  }

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('error', () => {
      this.broken = true;
    });
  }

  /** Hands the file at `index` to the worker (in the next batch). */
  add(rel: string, index: number): void {
    if (index >= this.places.length) {
      const grown = new Int32Array(Math.max(index + 1, this.places.length * 2));
      grown.set(this.places);
      this.places = grown;
    }
    this.places[index] = this.batches.length * BATCH_FILES + this.pending.length + 1;
    this.pending.push(rel);
    if (this.pending.length === BATCH_FILES) this.flush();
  }

  /** The size of the file at `index` if it is taken unread (the worker's answer, waited for); undefined: hash it. */
  size(index: number): number | undefined {
    const place = (this.places[index] ?? 0) - 1;
    if (place < 0) return undefined;
    const batchNo = Math.floor(place / BATCH_FILES);
    if (batchNo === this.batches.length) this.flush();
    const batch = this.batches[batchNo];
    if (batch === undefined || !this.answered(batch)) return undefined;
    const slot = place % BATCH_FILES;
    return batch.verdicts[slot] === VERDICT_UNREAD ? batch.sizes[slot] : undefined;
  }

  /** Stops the worker (its answers are no longer asked for). */
  close(): void {
    this.pending = [];
    void this.worker.terminate();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const count = this.pending.length;
    const shared = new SharedArrayBuffer(batchBytes(count));
    this.batches.push({ count, ...batchViews(shared, count) });
    this.worker.postMessage({ rels: this.pending, shared });
    this.pending = [];
  }

  /** Whether the batch's answers are in, waiting for them (a wait that times out breaks the prefetch: the rest is hashed). */
  private answered(batch: Batch): boolean {
    while (Atomics.load(batch.verdicts, batch.count) === 0) {
      if (this.broken || Atomics.wait(batch.verdicts, batch.count, 0, WAIT_MS) === 'timed-out') {
        this.broken = true;
        return false;
      }
    }
    return true;
  }
}
