import { asUserError, ClawbackError } from '../../errors.js';
import { readRegistry } from '../../store/registry.js';
import { readRunRecord, writeRunRecord, type RunCommand } from '../../store/run-record.js';
import type { EngineDeps } from '../deps.js';
import type { SnapshotSummary } from './create.js';

export type RunOutcome = { snapshot: SnapshotSummary } | { error: unknown };

/**
 * Notes a create or backup-all run in the sandbox's run record, which `status` reads. Never fails
 * the run: a record that cannot be written is a warning. Names that are not registered get none.
 */
export function recordRun(sandbox: string, command: RunCommand, outcome: RunOutcome, deps: EngineDeps): void {
  try {
    if (readRegistry(deps.layout).sandboxes[sandbox] === undefined) return;
    const { record } = readRunRecord(deps.layout, sandbox);
    const at = deps.now().toISOString();
    if ('snapshot' in outcome && !outcome.snapshot.incomplete && outcome.snapshot.degraded.length === 0) {
      record.lastSuccess = { at, command, snapshot: outcome.snapshot.timestamp, label: outcome.snapshot.name };
    } else if ('snapshot' in outcome) {
      const { skipped, degraded } = outcome.snapshot;
      const message = `snapshot incomplete: ${skipped} path(s) skipped, ${degraded.length} captured as raw bytes`;
      record.lastFailure = { at, command, code: 'snapshot-incomplete', exitCode: 3, message, snapshot: outcome.snapshot.timestamp };
    } else {
      const error = asUserError(outcome.error);
      const known = error instanceof ClawbackError;
      const message = known ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
      record.lastFailure = { at, command, code: known ? error.code : 'internal', exitCode: known ? error.exitCode : 1, message, snapshot: null };
    }
    writeRunRecord(deps.layout, record);
  } catch (error) {
    const problem = asUserError(error);
    deps.events.warning?.(`could not record this run of ${sandbox} for \`clawback status\`: ${problem instanceof Error ? problem.message : String(problem)}`);
  }
}
