import { parentPort, workerData } from 'node:worker_threads';
import { hashJobsInline, type LiveHashJob } from './live-hash.js';

parentPort?.postMessage(hashJobsInline(workerData as LiveHashJob[]));
