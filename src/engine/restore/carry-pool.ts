import { compiledWorker } from '../bundle/worker-script.js';
import { PoolAborted, rebuildError, runOnWorkerPool } from '../bundle/worker-pool.js';
import { stageTree, type TreeJob, type TreeResult } from './carry-link.js';
import type { TreeItem } from './plan-types.js';
import { shareByWeight, type PoolRun } from './stage-pool.js';

/** Below this many entries, starting workers costs more than linking them here. */
const PARALLEL_MIN_ENTRIES = 2000;
const MAX_WORKERS = 4;

/**
 * Phase 2 for the unit's carried trees: each rebuilt in the staged tree by hard links, here and on
 * worker threads (this thread and the workers one per core) when there are enough entries, else
 * here only. Returns what they found; a failure is thrown once every share has settled.
 */
export async function stageTrees(trees: readonly TreeItem[], stageDir: string, run: PoolRun & { breathe(): Promise<void> }): Promise<TreeResult> {
  const jobs: TreeJob[] = trees.map((t) => ({ source: t.live, dest: `${stageDir}/${t.rel}`, display: t.display, ...t.tree.columns() }));
  const entries = jobs.reduce((sum, job) => sum + job.types.length + 1, 0);
  const script = jobs.length >= 1 && run.parallelism >= 2 && entries >= PARALLEL_MIN_ENTRIES ? compiledWorker('./carry-worker.js', import.meta.url) : undefined;
  const results: Array<TreeResult | undefined> = new Array(jobs.length);
  if (script === undefined) {
    await onThisThread(jobs.map((_, i) => i), jobs, results, run);
  } else {
    // This thread takes a share too: one worker less (and its memory) for the same cores.
    const [mine, theirs] = shareByWeight(jobs.map((job) => job.types.length), run.parallelism);
    const workers = Math.min(run.parallelism - 1, MAX_WORKERS);
    // Both settle before anything is thrown: a worker must not write into a staged tree being rolled back.
    const settled = await Promise.allSettled([onThisThread(mine, jobs, results, run), onWorkers(script, theirs, jobs, results, run, workers)]);
    const failed = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    if (failed.length > 0) throw failed.find((e) => !(e instanceof PoolAborted)) ?? failed[0];
  }
  return { warnings: results.flatMap((r) => r?.warnings ?? []), denied: results.flatMap((r) => r?.denied ?? []) };
}

async function onThisThread(indexes: readonly number[], jobs: readonly TreeJob[], results: Array<TreeResult | undefined>, run: PoolRun & { breathe(): Promise<void> }): Promise<void> {
  for (const i of indexes) {
    await run.breathe();
    results[i] = stageTree(jobs[i]!);
  }
}

async function onWorkers(script: string, indexes: readonly number[], all: readonly TreeJob[], results: Array<TreeResult | undefined>, run: PoolRun, workers: number): Promise<void> {
  if (indexes.length === 0) return;
  const jobs = indexes.map((i) => all[i]!);
  const first: { failed?: { index: number; error: Error } } = {};
  try {
    await runOnWorkerPool<TreeJob, TreeResult>(
      script,
      jobs,
      // A directory costs a mkdir and a chmod, a file one link: weigh by entries, as bytes.
      jobs.map((job) => job.types.length * 4096),
      Math.max(1, workers),
      (index, outcome) => {
        if (outcome.ok) results[indexes[index]!] = outcome.value;
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
