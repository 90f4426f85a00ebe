import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import { compiledWorker } from '../bundle/worker-script.js';
import { PoolAborted, rebuildError, runOnWorkerPool } from '../bundle/worker-pool.js';
import { stageBundleFile } from './stage-file.js';

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
  /** A turn of the event loop (a Ctrl-C is seen there), and the interrupted error if one came. */
  breathe(): Promise<void>;
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

/** A job's weight when the jobs are shared out: a database costs more than its bytes (SQLite's backup, then a quick_check of the copy). */
function weightOf(job: StageJob): number {
  return (job.entry.size ?? 0) * (job.entry.strategy === 'sqlite_backup' ? DATABASE_COST : 1) + PER_FILE_WEIGHT;
}

/** A file costs this much besides its bytes (open, create, close). */
const PER_FILE_WEIGHT = 16 * 1024;

/**
 * Writes the jobs on this thread and on worker threads, together one per core: this thread takes
 * at most its part of the weight (so there is one worker less, and its memory, for the same
 * cores), the workers the rest. The first failing job in plan order is thrown once both have
 * settled (a worker must not write into a staged tree being rolled back); a Ctrl-C stops the
 * workers before the restore rolls back.
 */
export async function stageOnWorkers(script: string, jobs: readonly StageJob[], run: PoolRun): Promise<void> {
  const [mine, theirs] = shareByWeight(jobs.map(weightOf), run.parallelism);
  const first: { failed?: { index: number; error: Error } } = {};
  const fail = (index: number, error: Error): void => {
    if (first.failed === undefined || index < first.failed.index) first.failed = { index, error };
  };
  const settled = await Promise.allSettled([onThisThread(jobs, mine, run, fail), onWorkers(script, jobs, theirs, run, fail)]);
  const thrown = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (thrown.length > 0) {
    if (thrown.some((e) => e instanceof PoolAborted)) run.stopIfInterrupted();
    throw thrown.find((e) => !(e instanceof PoolAborted)) ?? thrown[0];
  }
  if (first.failed !== undefined) throw first.failed.error;
}

/**
 * Job indexes for this thread and for the workers, by weight: this thread's share at most
 * 1 / parallelism of the whole, dealt heaviest first, the workers the rest (restore's staging and
 * its carried trees share their work this way).
 */
export function shareByWeight(weights: readonly number[], parallelism: number): [number[], number[]] {
  const order = weights.map((w, i) => ({ i, w })).sort((a, b) => b.w - a.w);
  const total = order.reduce((sum, o) => sum + o.w, 0);
  const mine: number[] = [];
  const theirs: number[] = [];
  let taken = 0;
  for (const o of order) {
    if (taken + o.w <= total / parallelism) {
      mine.push(o.i);
      taken += o.w;
    } else theirs.push(o.i);
  }
  return [mine.sort((a, b) => a - b), theirs.sort((a, b) => a - b)];
}

async function onThisThread(jobs: readonly StageJob[], indexes: readonly number[], run: PoolRun, fail: (index: number, error: Error) => void): Promise<void> {
  for (const i of indexes) {
    await run.breathe();
    const job = jobs[i]!;
    try {
      await stageBundleFile(job.source, job.dest, job.entry, job.mode);
    } catch (error) {
      fail(i, error as Error);
      return;
    }
    run.tick(job.entry.size ?? 0, job.entry.path);
  }
}

async function onWorkers(script: string, jobs: readonly StageJob[], indexes: readonly number[], run: PoolRun, fail: (index: number, error: Error) => void): Promise<void> {
  if (indexes.length === 0) return;
  const theirs = indexes.map((i) => jobs[i]!);
  await runOnWorkerPool<StageJob, null>(
    script,
    theirs,
    theirs.map(weightOf),
    Math.max(1, Math.min(run.parallelism - 1, MAX_WORKERS)),
    (k, outcome) => {
      if (outcome.ok) run.tick(theirs[k]!.entry.size ?? 0, theirs[k]!.entry.path);
      else fail(indexes[k]!, rebuildError(outcome.error));
    },
    run.signal,
  );
}
