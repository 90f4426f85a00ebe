import { ClawbackError, RebuildError, RefusedError } from '../../errors.js';
import { bundleTimestamp } from '../../store/home.js';
import type { Lock } from '../../store/lock.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { runRequiredHook, type HookSettings } from '../sandbox/hooks.js';
import { removeRebuildRecord, stopRecreateHook, writeRebuildRecord, type RebuildRecord } from './journal.js';
import { recoverSandbox } from '../recovery.js';
import type { RebuildPreflight } from './preflight.js';
import { preflightAny, rootOps } from './remote-root.js';
import { restoreSnapshotLocked, type RestoreSummary } from '../restore/restore.js';
import { createSnapshotLocked, type SnapshotSummary } from '../capture/create.js';
import { sandboxLock } from '../sandbox/lock.js';

export { type RebuildPreflight } from './preflight.js';
export { preflightAny as preflightRebuild } from './remote-root.js';

export interface RebuildRequest {
  sandbox: string;
  hooks: HookSettings;
  /** Called as each step finishes, so a long rebuild shows where it is. */
  onStep?: (step: RebuildStep) => void;
}

export type RebuildStepName = 'stop' | 'snapshot' | 'move' | 'recreate' | 'restore' | 'start' | 'cleanup';

export interface RebuildStep {
  step: RebuildStepName;
  /** What happened, for one line of text. */
  detail: string;
  durationMs: number;
}

export interface RebuildSummary {
  sandbox: string;
  root: string;
  snapshot: { label: string; timestamp: string; dir: string; files: number; bytes: number; restoreCommand: string };
  restore: Pick<RestoreSummary, 'counts' | 'merges' | 'databases' | 'keptReasons'>;
  steps: RebuildStep[];
  warnings: string[];
  durationMs: number;
}

interface Progress {
  entry: SandboxEntry;
  step: RebuildStepName;
  stopped: boolean;
  snapshot: SnapshotSummary | undefined;
  record: RebuildRecord | undefined;
  steps: RebuildStep[];
  warnings: string[];
}

/**
 * README "backup-all and rebuild": stop → a complete snapshot → move the root aside → recreate → restore with the config
 * merges → start → delete the old root. Nothing is deleted until the rebuilt state is live and
 * started; a failure after the move removes what the rebuild wrote, renames the old root back and
 * runs `start`. The move is recorded first (journal/rebuild/<sandbox>.json), so a kill at any
 * point is rolled back (or finished) by the next clawback command.
 *
 * The agent is stopped before the snapshot, not after: whatever it writes until it stops would
 * otherwise be lost with the old root.
 */
export async function rebuildSandbox(request: RebuildRequest, deps: EngineDeps): Promise<RebuildSummary> {
  const started = deps.clock();
  const lock = sandboxLock(deps, request.sandbox, 'rebuild');
  try {
    await recoverSandbox(deps, request.sandbox);
    const preflight = await preflightAny(request.sandbox, deps);
    const progress: Progress = { entry: preflight.entry, step: 'stop', stopped: false, snapshot: undefined, record: undefined, steps: [], warnings: [] };
    try {
      const restored = await runSteps(request, deps, preflight, progress);
      const snapshot = progress.snapshot!;
      return {
        sandbox: request.sandbox,
        root: preflight.root,
        snapshot: {
          label: snapshot.name ?? snapshot.timestamp,
          timestamp: snapshot.timestamp,
          dir: snapshot.dir,
          files: snapshot.files,
          bytes: snapshot.bytes,
          restoreCommand: `clawback ${request.sandbox} snapshot restore ${snapshot.name ?? snapshot.timestamp}`,
        },
        restore: { counts: restored.counts, merges: restored.merges, databases: restored.databases, keptReasons: restored.keptReasons },
        steps: progress.steps,
        warnings: [...progress.warnings, ...restored.warnings],
        durationMs: deps.clock() - started,
      };
    } catch (error) {
      throw await recoverFromFailure(error, request, deps, progress);
    }
  } finally {
    lock.release();
  }
}

/** One rebuild under way: what its steps share, and what the failure handler needs to know (progress). */
interface RebuildRun {
  request: RebuildRequest;
  deps: EngineDeps;
  entry: SandboxEntry;
  root: string;
  /** Names the snapshot and the moved-aside root; taken once the agent is stopped. */
  stamp: string;
  progress: Progress;
}

async function runStep<T>(run: RebuildRun, name: RebuildStepName, work: () => Promise<T> | T, detail: (result: T) => string): Promise<T> {
  run.progress.step = name;
  run.deps.events.phase?.(name);
  const begun = run.deps.clock();
  const result = await work();
  const record: RebuildStep = { step: name, detail: detail(result), durationMs: run.deps.clock() - begun };
  run.progress.steps.push(record);
  run.request.onStep?.(record);
  return result;
}

/** A rebuild's own warning: to the user through deps.events.warning, and kept for the summary (--json). */
function warn(progress: Progress, deps: EngineDeps, message: string): void {
  progress.warnings.push(message);
  deps.events.warning?.(message);
}

async function runSteps(request: RebuildRequest, deps: EngineDeps, preflight: RebuildPreflight, progress: Progress): Promise<RestoreSummary> {
  const run: RebuildRun = { request, deps, entry: preflight.entry, root: preflight.root, stamp: '', progress };
  await stopAgent(run);
  run.stamp = bundleTimestamp(deps.now());
  const snapshot = await takeSnapshot(run);
  const record = await moveRootAside(run, snapshot);
  await recreateRoot(run, record);
  const restored = await restoreSnapshotInto(run, record);
  if (run.entry.hooks.start !== undefined) await runStep(run, 'start', () => runRequiredHook(run.entry, 'start', request.hooks), () => 'started (start hook)');
  await commitAndCleanUp(run, record);
  return restored;
}

async function stopAgent(run: RebuildRun): Promise<void> {
  const { entry, progress } = run;
  if (entry.hooks.stop === undefined) {
    warn(progress, run.deps, `${entry.name} has no stop hook: if the agent is running, it may write to ${run.root} while it is rebuilt`);
    return;
  }
  await runStep(run, 'stop', () => runRequiredHook(entry, 'stop', run.request.hooks), () => 'stopped (stop hook)');
  progress.stopped = true;
}

async function takeSnapshot(run: RebuildRun): Promise<SnapshotSummary> {
  const { entry, deps } = run;
  const label = `pre-rebuild-${run.stamp}`;
  const snapshot = await runStep(
    run,
    'snapshot',
    () => createSnapshotLocked({ sandbox: entry.name, label, scope: {} }, deps),
    (s) => `snapshot ${label}: ${s.files} files → ${s.dir}`,
  );
  run.progress.snapshot = snapshot;
  if (snapshot.incomplete) {
    throw new RefusedError('snapshot-incomplete', `the pre-rebuild snapshot of ${entry.name} is incomplete (some paths could not be read), so the rebuild stops here`, {
      hint: 'fix the unreadable paths (see the warnings) and run rebuild again',
    });
  }
  return snapshot;
}

/** The move is recorded before it is made, so a kill at any point is rolled back by the next command. */
async function moveRootAside(run: RebuildRun, snapshot: SnapshotSummary): Promise<RebuildRecord> {
  const { deps, root } = run;
  const aside = `${root}.clawback-rebuild-${run.stamp}`;
  const record: RebuildRecord = {
    version: 1,
    sandbox: run.entry.name,
    state: 'moved',
    root,
    aside,
    snapshot: { dir: snapshot.dir, timestamp: snapshot.timestamp, label: `pre-rebuild-${run.stamp}` },
    pid: deps.host.pid,
    host: deps.host.hostname,
    createdAt: deps.now().toISOString(),
    ...(run.entry.via !== undefined && run.entry.via !== 'local' ? { via: run.entry.via } : {}),
  };
  await runStep(
    run,
    'move',
    async () => {
      writeRebuildRecord(deps.layout, record);
      run.progress.record = record;
      deps.fault?.('rebuild:before-move');
      await rootOps(run.entry, deps).moveAside(record);
    },
    () => `moved ${root} aside to ${aside}`,
  );
  deps.fault?.('rebuild:moved');
  return record;
}

async function recreateRoot(run: RebuildRun, record: RebuildRecord): Promise<void> {
  const { entry, root } = run;
  await runStep(
    run,
    'recreate',
    async () => {
      await runRecreateHook(run, record);
      if (!(await rootOps(entry, run.deps).rootIsDirectory(root))) {
        throw new RefusedError('recreate-left-no-root', `the recreate hook of ${entry.name} exited 0 but left no directory at ${root}`, {
          hint: 'the hook must create a fresh agent home at $CLAWBACK_ROOT',
        });
      }
    },
    () => 'fresh home laid down (recreate hook)',
  );
  run.deps.fault?.('rebuild:recreated');
}

/** The hook's process group is in the record while the hook runs, so a recovery after a SIGKILL can stop it. */
async function runRecreateHook(run: RebuildRun, record: RebuildRecord): Promise<void> {
  const { deps } = run;
  const recordGroup = (group: number | undefined): void => {
    if (group === undefined) delete record.hookGroup;
    else record.hookGroup = group;
    writeRebuildRecord(deps.layout, record);
  };
  try {
    await runRequiredHook(run.entry, 'recreate', run.request.hooks, { CLAWBACK_PREVIOUS_ROOT: record.aside, CLAWBACK_SNAPSHOT: record.snapshot.dir }, recordGroup);
  } finally {
    // A group with nothing left in it is forgotten: its number may be given to another group.
    if (record.hookGroup !== undefined && !deps.host.groupAlive(record.hookGroup)) recordGroup(undefined);
  }
}

// The rebuild holds the sandbox lock throughout, so nothing can snapshot or restore the half-built root.
async function restoreSnapshotInto(run: RebuildRun, record: RebuildRecord): Promise<RestoreSummary> {
  const { label, timestamp } = record.snapshot;
  const restored = await runStep(
    run,
    'restore',
    () => restoreSnapshotLocked({ sandbox: run.entry.name, selector: timestamp, force: false, confirmed: true, dryRun: false, noPreRestore: true }, run.deps),
    (r) => `restored ${r.counts.replaced + r.counts.added + r.counts.unchanged} paths from ${label}${r.merges.length > 0 ? `; config merged: ${r.merges.map((m) => m.path).join(', ')}` : ''}`,
  );
  run.deps.fault?.('rebuild:restored');
  return restored;
}

async function commitAndCleanUp(run: RebuildRun, record: RebuildRecord): Promise<void> {
  const { deps, progress } = run;
  record.state = 'committed';
  writeRebuildRecord(deps.layout, record);
  // The rebuilt state is live and started: from here on nothing rolls back.
  progress.record = undefined;
  deps.fault?.('rebuild:committed');
  await runStep(
    run,
    'cleanup',
    async () => {
      try {
        await rootOps(run.entry, deps).finish(record);
        removeRebuildRecord(deps.layout, run.entry.name);
        return true;
      } catch (error) {
        warn(progress, run.deps, `could not remove the old root ${record.aside} (${(error as Error).message}); the next clawback command retries, or remove it by hand`);
        return false;
      }
    },
    (removed) => (removed ? `removed the old root ${record.aside}` : `the old root ${record.aside} is still there`),
  );
}

/**
 * After a failure: put the old root back if it was moved, start the agent again if the rebuild
 * stopped it, and turn the cause into an error that says where the snapshot is. A failure that is
 * not a ClawbackError is a bug: it is rethrown as is, after a warning with the same facts.
 */
async function recoverFromFailure(error: unknown, request: RebuildRequest, deps: EngineDeps, progress: Progress): Promise<unknown> {
  const { entry, record, snapshot } = progress;
  const notes: string[] = [];
  let rolledBack = false;
  if (record) {
    try {
      stopRecreateHook(record, deps);
      await rootOps(entry, deps).putBack(record);
      removeRebuildRecord(deps.layout, entry.name);
      rolledBack = true;
    } catch (rollbackError) {
      const message = `rebuild of ${entry.name} failed while ${STEP_VERB[progress.step]}, and putting the old root back failed too (${(rollbackError as Error).message}). The original state is at ${record.aside}: move it back to ${record.root} by hand. The snapshot taken before is ${record.snapshot.dir}.`;
      if (error instanceof ClawbackError) return new RebuildError(error, progress.step, message, 'the next clawback command retries the roll back', false, snapshot?.dir, [error.message, ...error.details]);
      deps.events.warning?.(message);
      return error;
    }
  }
  if (progress.stopped || rolledBack) {
    if (entry.hooks.start !== undefined) {
      try {
        await runRequiredHook(entry, 'start', request.hooks);
        notes.push('the agent was started again');
      } catch (startError) {
        notes.push(`starting it again failed too: ${startError instanceof Error ? startError.message : String(startError)}`);
      }
    } else if (progress.stopped) notes.push('the agent was stopped and has no start hook: start it yourself');
  }

  const where = rolledBack ? `; the original state is back at ${record!.root}` : progress.step === 'stop' || progress.step === 'snapshot' ? '; nothing was changed' : '';
  const snapshotNote = snapshot ? `; the snapshot taken before is ${snapshot.dir}` : '';
  const tail = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  if (!(error instanceof ClawbackError)) {
    deps.events.warning?.(`rebuild of ${entry.name} failed while ${STEP_VERB[progress.step]}${where}${snapshotNote}${tail}`);
    return error;
  }
  const message = `rebuild of ${entry.name} failed while ${STEP_VERB[progress.step]}: ${error.message}${where}${snapshotNote}${tail}`;
  const hint = snapshot
    ? `restore that snapshot at any time with \`clawback ${entry.name} snapshot restore ${snapshot.name ?? snapshot.timestamp}\`${error.hint ? `; ${error.hint}` : ''}`
    : error.hint ?? 'fix the cause and run rebuild again';
  return new RebuildError(error, progress.step, message, hint, rolledBack, snapshot?.dir, error.details);
}

const STEP_VERB: Record<RebuildStepName, string> = {
  stop: 'stopping the agent',
  snapshot: 'taking the pre-rebuild snapshot',
  move: 'moving the root aside',
  recreate: 'recreating a fresh home',
  restore: 'restoring the snapshot',
  start: 'starting the agent',
  cleanup: 'removing the old root',
};

