import { parentPort } from 'node:worker_threads';
import { copyJob, type CopyBatch, type CopyBatchDone } from './copy-jobs.js';

// A copy worker copies each batch it is sent with sync fs calls and sends back its outcomes.
parentPort?.on('message', (batch: CopyBatch) => {
  parentPort?.postMessage({ first: batch.first, outcomes: batch.jobs.map(copyJob) } satisfies CopyBatchDone);
});
