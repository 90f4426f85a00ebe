import { lockHost } from './sandbox/lock.js';
import { BusyError, UnreachableError } from '../errors.js';
import { bundleTimestamp } from '../store/home.js';
import { recordSandboxes, recoverJournal, type JournalRecovery } from '../store/journal.js';
import { acquireLock } from '../store/lock.js';
import type { EngineDeps } from './deps.js';
import { rebuildRecordDir, recoverRebuild, recoveryMessage, type RebuildRecovery } from './rebuild/journal.js';
import { recoverRemoteJournal } from './restore/remote-recover.js';
import { recoverRemoteRebuild } from './rebuild/remote-root.js';

export type RecoveryOutcome =
  | ({ kind: 'restore' } & JournalRecovery)
  | ({ kind: 'rebuild' } & RebuildRecovery)
  /** The sandbox is locked by a live process: its restore or rebuild is still running, and left alone. */
  | { kind: 'restore' | 'rebuild'; sandbox: string; action: 'skipped-busy' }
  /** A remote restore whose target cannot be reached now: its journal stays for a later command. */
  | { kind: 'restore'; sandbox: string; action: 'skipped-unreachable' };

/**
 * Finishes or rolls back the sandbox's interrupted restore (its journal), then
 * its interrupted rebuild (its rebuild record); the caller holds the sandbox's
 * lock. A rebuild record whose process still runs is a BusyError.
 */
export function recoverSandbox(deps: EngineDeps, sandbox: string): Promise<RecoveryOutcome[]> {
  return recover(deps, sandbox, 'throw');
}

async function recover(deps: EngineDeps, sandbox: string, rebuildInProgress: 'throw' | 'skip'): Promise<RecoveryOutcome[]> {
  const warn = (message: string): void => deps.events.warning?.(message);
  const outcomes: RecoveryOutcome[] = [];
  // A remote restore (its journal names a transport) is settled in its target; a local one here.
  const restore = (await recoverRemoteJournal(deps, sandbox)) ?? recoverJournal(deps.layout, lockHost(deps), sandbox, bundleTimestamp(deps.now()));
  if (restore) {
    outcomes.push({ kind: 'restore', ...restore });
    warn(`an interrupted restore of ${sandbox} was ${restore.action === 'rolled-back' ? 'rolled back (the old state is live again)' : 'completed (the restored state is live)'}`);
    restore.warnings.forEach(warn);
  }
  try {
    // A rebuild's own restore journal, if any, is settled above, before its record puts the old root back.
    const rebuild = (await recoverRemoteRebuild(deps, sandbox)) ?? recoverRebuild(deps, sandbox);
    if (rebuild) {
      outcomes.push({ kind: 'rebuild', ...rebuild });
      warn(recoveryMessage(rebuild));
    }
  } catch (error) {
    if (!(error instanceof BusyError) || rebuildInProgress === 'throw') throw error;
    outcomes.push({ kind: 'rebuild', sandbox, action: 'skipped-busy' });
  }
  return outcomes;
}

/**
 * Run before every command: each restore or rebuild that a kill interrupted is
 * finished (past its commit point) or rolled back, under the sandbox lock. A
 * sandbox locked by a live process is being restored or rebuilt right now, and
 * is left alone. Hooks are not run here: an agent stopped for an interrupted
 * rebuild is reported, not restarted behind the user's back.
 */
export async function recoverInterruptedWork(deps: EngineDeps): Promise<RecoveryOutcome[]> {
  const journals = new Set(recordSandboxes(deps.layout.journals));
  const rebuilds = new Set(recordSandboxes(rebuildRecordDir(deps.layout)));
  const outcomes: RecoveryOutcome[] = [];
  for (const sandbox of [...new Set([...journals, ...rebuilds])].sort()) {
    let lock;
    try {
      lock = acquireLock(deps.layout.locks, sandbox, { command: 'recovery', waitMs: 0, now: deps.now, host: lockHost(deps) });
    } catch (error) {
      if (!(error instanceof BusyError)) throw error;
      if (journals.has(sandbox)) outcomes.push({ kind: 'restore', sandbox, action: 'skipped-busy' });
      if (rebuilds.has(sandbox)) outcomes.push({ kind: 'rebuild', sandbox, action: 'skipped-busy' });
      continue;
    }
    try {
      outcomes.push(...(await recover(deps, sandbox, 'skip')));
    } catch (error) {
      // Another sandbox's target being unreachable must not stop this command: said once, settled later.
      if (!(error instanceof UnreachableError)) throw error;
      deps.events.warning?.(`an interrupted ${journals.has(sandbox) ? 'restore' : 'rebuild'} of ${sandbox} cannot be settled now (${error.message}); the next command will try again`);
      outcomes.push({ kind: 'restore', sandbox, action: 'skipped-unreachable' });
    } finally {
      lock.release();
    }
  }
  return outcomes;
}
