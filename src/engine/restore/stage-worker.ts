import { serveJobs } from '../bundle/worker-pool.js';
import { stageBundleFile } from './stage-file.js';
import type { StageJob } from './stage-pool.js';

// A staging worker: writes its share of bundle files into the staged tree (stage-pool.ts).
void serveJobs<StageJob, null>(async (job) => {
  await stageBundleFile(job.source, job.dest, job.entry, job.mode);
  return null;
});
