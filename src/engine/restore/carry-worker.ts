import { serveJobs } from '../bundle/worker-pool.js';
import { stageTree, type TreeJob, type TreeResult } from './carry-link.js';

// A staging worker for carried trees: rebuilds its share of them in the staged tree by hard links (carry-pool.ts).
void serveJobs<TreeJob, TreeResult>((job) => stageTree(job));
