import { parentPort, workerData } from 'node:worker_threads';
import { hashJobsInline, type HashJobColumns } from './live-hash.js';

parentPort?.postMessage(hashJobsInline(workerData as HashJobColumns));
