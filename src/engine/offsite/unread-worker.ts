import { parentPort, workerData } from 'node:worker_threads';
import { batchViews, unreadSize, VERDICT_HASH, VERDICT_UNREAD, type UnreadPlaces } from './unread-stat.js';

/**
 * The worker thread of unread-prefetch.ts: answers each batch of payload paths with unreadSize's
 * verdicts, written into the batch's shared memory, then sets the batch's done flag and wakes the
 * thread that may be waiting on it.
 */
const places = workerData as UnreadPlaces;

parentPort?.on('message', (batch: { rels: string[]; shared: SharedArrayBuffer }) => {
  const count = batch.rels.length;
  const { sizes, verdicts } = batchViews(batch.shared, count);
  for (let k = 0; k < count; k++) {
    const size = unreadSize(places, batch.rels[k]!);
    if (size !== undefined) sizes[k] = size;
    verdicts[k] = size === undefined ? VERDICT_HASH : VERDICT_UNREAD;
  }
  Atomics.store(verdicts, count, 1);
  Atomics.notify(verdicts, count);
});
