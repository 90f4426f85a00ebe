import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import { compiledWorker } from '../bundle/worker-script.js';
import { PoolAborted, rebuildError, runOnWorkerPool } from '../bundle/worker-pool.js';

/** One bundle file a staging worker writes. */
export interface StageJob {
  source: string;
  dest: string;
  entry: BundleEntry;
  mode: number;
}

/** What the pool needs of stage.ts's StageRun (an interface, so the two files do not import each other). */
export interface PoolRun {
  readonly signal: AbortSignal | undefined;
  readonly parallelism: number;
  tick(bytes: number, restored?: string): void;
  /** Throws the restore's interrupted error when a Ctrl-C came. */
  stopIfInterrupted(): void;
}

/** Below this many files and bytes, starting workers costs more than it saves (as in snapshot create). */
const PARALLEL_MIN_FILES = 400;
const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;
const MAX_WORKERS = 4;
/** Weight of a database byte against a copied byte when jobs are dealt to workers. */
const DATABASE_COST = 3;

/** Whether these jobs go to workers: enough work, two cores or more, and a compiled worker script (none when run from source). */
export function stageWorkerScript(jobs: readonly StageJob[], run: PoolRun): string | undefined {
  if (jobs.length < 2 || run.parallelism < 2) return undefined;
  const bytes = jobs.reduce((sum, job) => sum + (job.entry.size ?? 0), 0);
  if (jobs.length < PARALLEL_MIN_FILES && bytes < PARALLEL_MIN_BYTES) return undefined;
  return compiledWorker('./stage-worker.js', import.meta.url);
}

/**
 * Writes the jobs on worker threads, one per core (the pool snapshot create copies with), counting
 * each file as it is done. The first failing job in plan order is thrown once all have settled, as
 * the calling thread would have thrown it; a Ctrl-C stops the workers before the restore rolls back.
 */
export async function stageOnWorkers(script: string, jobs: readonly StageJob[], run: PoolRun): Promise<void> {
  const first: { failed?: { index: number; error: Error } } = {};
  try {
    await runOnWorkerPool<StageJob, null>(
      script,
      jobs,
      // A database costs more than its bytes: SQLite's backup, then a quick_check of the copy.
      jobs.map((job) => (job.entry.size ?? 0) * (job.entry.strategy === 'sqlite_backup' ? DATABASE_COST : 1)),
      Math.min(run.parallelism, MAX_WORKERS),
      (index, outcome) => {
        if (outcome.ok) run.tick(jobs[index]!.entry.size ?? 0, jobs[index]!.entry.path);
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
