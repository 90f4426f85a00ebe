import { parentPort, workerData } from 'node:worker_threads';
import { copyJobs, type CopyJob } from './copy-jobs.js';

// One worker runs a share of the copy jobs with sync fs calls, reporting progress now and then.
const jobs = (workerData as { jobs: CopyJob[] }).jobs;
const outcomes = copyJobs(jobs, (files, bytes) => parentPort?.postMessage({ type: 'progress', files, bytes }));
parentPort?.postMessage({ type: 'done', outcomes });
