import { compiledWorker } from '../bundle/worker-script.js';
import { PoolAborted, rebuildError, runOnWorkerPool } from '../bundle/worker-pool.js';
import { stageTree, type TreeJob, type TreeResult } from './carry-link.js';
import type { TreeItem } from './plan-types.js';
import type { PoolRun } from './stage-pool.js';

/** Below this many entries, starting workers costs more than linking them here. */
const PARALLEL_MIN_ENTRIES = 2000;
const MAX_WORKERS = 4;

/**
 * Phase 2 for the unit's carried trees: each rebuilt in the staged tree by hard links, on worker
 * threads (one per core) when there are enough entries, else here. Returns what they found; the
 * first failing tree in plan order is thrown once all have settled.
 */
export async function stageTrees(trees: readonly TreeItem[], stageDir: string, run: PoolRun & { breathe(): Promise<void> }): Promise<TreeResult> {
  const jobs: TreeJob[] = trees.map((t) => ({ source: t.live, dest: `${stageDir}/${t.rel}`, display: t.display, ...t.tree.columns() }));
  const entries = jobs.reduce((sum, job) => sum + job.names.length + 1, 0);
  const script = jobs.length >= 1 && run.parallelism >= 2 && entries >= PARALLEL_MIN_ENTRIES ? compiledWorker('./carry-worker.js', import.meta.url) : undefined;
  const results: Array<TreeResult | undefined> = new Array(jobs.length);
  if (script === undefined) {
    for (const [i, job] of jobs.entries()) {
      await run.breathe();
      results[i] = stageTree(job);
    }
  } else {
    await onWorkers(script, jobs, results, run);
  }
  return { warnings: results.flatMap((r) => r?.warnings ?? []), denied: results.flatMap((r) => r?.denied ?? []) };
}

async function onWorkers(script: string, jobs: readonly TreeJob[], results: Array<TreeResult | undefined>, run: PoolRun): Promise<void> {
  const first: { failed?: { index: number; error: Error } } = {};
  try {
    await runOnWorkerPool<TreeJob, TreeResult>(
      script,
      jobs,
      // A directory costs a mkdir and a chmod, a file one link: weigh by entries, as bytes.
      jobs.map((job) => job.names.length * 4096),
      Math.min(run.parallelism, MAX_WORKERS),
      (index, outcome) => {
        if (outcome.ok) results[index] = outcome.value;
        else if (first.failed === undefined || index < first.failed.index) first.failed = { index, error: rebuildError(outcome.error) };
      },
      run.signal,
    );
  } catch (error) {
    if (error instanceof PoolAborted) run.stopIfInterrupted();
    throw error;
  }
  if (first.failed !== undefined) throw first.failed.error;
}
