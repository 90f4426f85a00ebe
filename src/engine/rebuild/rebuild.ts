import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClawbackError, RefusedError } from '../../errors.js';
import { fsyncDir } from '../../store/atomic.js';
import { bundleTimestamp } from '../../store/home.js';
import type { Lock } from '../../store/lock.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { runRequiredHook, type HookSettings } from '../sandbox/hooks.js';
import { finishCommitted, putOldRootBack, recoverRebuild, recoveryMessage, removeRebuildRecord, writeRebuildRecord, type RebuildRecord } from './journal.js';
import { preflightRebuild, type RebuildPreflight } from './preflight.js';
import { restoreSnapshotLocked, type RestoreSummary } from '../restore/restore.js';
import { createSnapshotLocked, type SnapshotSummary } from '../capture/create.js';
import { sandboxLock } from '../sandbox/lock.js';

export { preflightRebuild, type RebuildPreflight } from './preflight.js';

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

/**
 * A rebuild that stopped. `rolledBack`: the original root is back in place (and `start` was run);
 * the message always says where the pre-rebuild snapshot is, when one was taken. The exit code is
 * the cause's: 5 for a failed hook or a refusal, 6 for a damaged bundle, 7 for a busy lock.
 */
export class RebuildError extends ClawbackError {
  readonly step: RebuildStepName;
  readonly rolledBack: boolean;
  readonly snapshotDir: string | undefined;
  constructor(cause: ClawbackError, step: RebuildStepName, message: string, hint: string, rolledBack: boolean, snapshotDir: string | undefined, details: string[]) {
    super(cause.code, cause.exitCode, message, { hint, details, cause });
    this.step = step;
    this.rolledBack = rolledBack;
    this.snapshotDir = snapshotDir;
  }
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
 * SPEC 7: stop → a complete snapshot → move the root aside → recreate → restore with the config
 * merges → start → delete the old root. Nothing is deleted until the rebuilt state is live and
 * started; a failure after the move removes what the rebuild wrote, renames the old root back and
 * runs `start`. The move is recorded first (journal/rebuild/<sandbox>.json), so a kill at any
 * point is rolled back (or finished) by the next clawback command.
 *
 * The agent is stopped before the snapshot, not after: whatever it writes until it stops would
 * otherwise be lost with the old root.
 */
export async function rebuildSandbox(request: RebuildRequest, deps: EngineDeps): Promise<RebuildSummary> {
  const started = Date.now();
  const lock = sandboxLock(deps, request.sandbox, 'rebuild');
  try {
    const recovered = recoverRebuild(deps, request.sandbox);
    if (recovered) deps.events.warning?.(recoveryMessage(recovered));
    const preflight = preflightRebuild(request.sandbox, deps);
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
        durationMs: Date.now() - started,
      };
    } catch (error) {
      throw await recoverFromFailure(error, request, deps, progress);
    }
  } finally {
    lock.release();
  }
}

/** A rebuild's own warning: to the user through deps.events.warning, and kept for the summary (--json). */
function warn(progress: Progress, deps: EngineDeps, message: string): void {
  progress.warnings.push(message);
  deps.events.warning?.(message);
}

async function runSteps(request: RebuildRequest, deps: EngineDeps, preflight: RebuildPreflight, progress: Progress): Promise<RestoreSummary> {
  const { entry, root } = preflight;
  const step = async <T>(name: RebuildStepName, work: () => Promise<T> | T, detail: (result: T) => string): Promise<T> => {
    progress.step = name;
    deps.events.phase?.(name);
    const begun = Date.now();
    const result = await work();
    const record: RebuildStep = { step: name, detail: detail(result), durationMs: Date.now() - begun };
    progress.steps.push(record);
    request.onStep?.(record);
    return result;
  };

  if (entry.hooks.stop !== undefined) {
    await step('stop', () => runRequiredHook(entry, 'stop', request.hooks), () => 'stopped (stop hook)');
    progress.stopped = true;
  } else {
    warn(progress, deps, `${entry.name} has no stop hook: if the agent is running, it may write to ${root} while it is rebuilt`);
  }

  const stamp = bundleTimestamp(deps.now());
  const label = `pre-rebuild-${stamp}`;
  const snapshot = await step(
    'snapshot',
    () => createSnapshotLocked({ sandbox: entry.name, label, scope: {} }, deps),
    (s) => `snapshot ${label}: ${s.files} files → ${s.dir}`,
  );
  progress.snapshot = snapshot;
  if (snapshot.incomplete) {
    throw new RefusedError('snapshot-incomplete', `the pre-rebuild snapshot of ${entry.name} is incomplete (some paths could not be read), so the rebuild stops here`, {
      hint: 'fix the unreadable paths (see the warnings) and run rebuild again',
    });
  }

  const aside = `${root}.clawback-rebuild-${stamp}`;
  const record: RebuildRecord = {
    version: 1,
    sandbox: entry.name,
    state: 'moved',
    root,
    aside,
    snapshot: { dir: snapshot.dir, timestamp: snapshot.timestamp, label },
    pid: process.pid,
    host: os.hostname(),
    createdAt: deps.now().toISOString(),
  };
  await step(
    'move',
    () => {
      writeRebuildRecord(deps.layout, record);
      progress.record = record;
      deps.fault?.('rebuild:before-move');
      fs.renameSync(root, aside);
      fsyncDir(path.dirname(root));
    },
    () => `moved ${root} aside to ${aside}`,
  );
  deps.fault?.('rebuild:moved');

  await step(
    'recreate',
    async () => {
      await runRequiredHook(entry, 'recreate', request.hooks, { CLAWBACK_PREVIOUS_ROOT: aside, CLAWBACK_SNAPSHOT: snapshot.dir });
      if (!fs.lstatSync(root, { throwIfNoEntry: false })?.isDirectory()) {
        throw new RefusedError('recreate-left-no-root', `the recreate hook of ${entry.name} exited 0 but left no directory at ${root}`, {
          hint: 'the hook must create a fresh agent home at $CLAWBACK_ROOT',
        });
      }
    },
    () => 'fresh home laid down (recreate hook)',
  );
  deps.fault?.('rebuild:recreated');

  // The rebuild holds the sandbox lock throughout, so nothing can snapshot or restore the half-built root.
  const restored: RestoreSummary = await step(
    'restore',
    () =>
      restoreSnapshotLocked(
        { sandbox: entry.name, selector: snapshot.timestamp, force: false, confirmed: true, dryRun: false, noPreRestore: true },
        deps,
      ),
    (r) => `restored ${r.counts.replaced + r.counts.added + r.counts.unchanged} paths from ${label}${r.merges.length > 0 ? `; config merged: ${r.merges.map((m) => m.path).join(', ')}` : ''}`,
  );
  deps.fault?.('rebuild:restored');

  if (entry.hooks.start !== undefined) await step('start', () => runRequiredHook(entry, 'start', request.hooks), () => 'started (start hook)');

  record.state = 'committed';
  writeRebuildRecord(deps.layout, record);
  // The rebuilt state is live and started: from here on nothing rolls back.
  progress.record = undefined;
  deps.fault?.('rebuild:committed');
  await step(
    'cleanup',
    () => {
      try {
        finishCommitted(record);
        removeRebuildRecord(deps.layout, entry.name);
        return true;
      } catch (error) {
        warn(progress, deps, `could not remove the old root ${aside} (${(error as Error).message}); the next clawback command retries, or remove it by hand`);
        return false;
      }
    },
    (removed) => (removed ? `removed the old root ${aside}` : `the old root ${aside} is still there`),
  );
  return restored;
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
      putOldRootBack(record);
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

