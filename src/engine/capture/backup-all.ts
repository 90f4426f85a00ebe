import { asUserError, ClawbackError, NotFoundError } from '../../errors.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { hookFailure, runHook, type HookSettings } from '../sandbox/hooks.js';
import { listSandboxes, rootExists } from '../sandbox/sandbox.js';
import { createSnapshot, type SnapshotSummary } from './create.js';
import { recordRun } from './run-record.js';

export interface BackupAllRequest {
  includeStopped: boolean;
  hooks: HookSettings;
  /** Called as each sandbox finishes, so a long run shows its lines as it goes. */
  onRow?: (row: BackupAllRow) => void;
  /** `--push REPO`: copies each new bundle off the machine once it is published; a failed copy fails the row, the bundle stays. */
  push?: (sandbox: string, timestamp: string) => Promise<PushedCopy>;
}

/** Where backup-all's push put a bundle. */
export interface PushedCopy {
  repo: string;
  snapshotId: string;
  dataAdded: number | null;
}

export type BackupAllStatus = 'ok' | 'failed' | 'skipped';

export interface BackupAllRow {
  name: string;
  status: BackupAllStatus;
  reason?: string;
  /** The error's code and exit code, for a failed row. */
  code?: string;
  exitCode?: number;
  details?: string[];
  hint?: string;
  snapshot?: SnapshotSummary;
  /** The off-machine copy of the snapshot (backup-all --push). */
  pushed?: PushedCopy;
  /** A failure that is not a ClawbackError: a bug. The CLI prints it and exits 1 after the run. */
  bug?: Error;
}

export interface BackupAllSummary {
  rows: BackupAllRow[];
  counts: { backedUp: number; failed: number; skipped: number };
}

/** Exit codes of `sh` for a command it could not find or run: a broken hook, not a stopped agent. */
const SHELL_CANNOT_RUN = new Set([126, 127]);

/**
 * Snapshots every registered sandbox in name order, one at a time, each under its own lock
 * (createSnapshot takes it, waiting up to deps.lockWaitMs). One sandbox's failure, including a busy
 * lock, becomes its row and never stops the others. An empty registry is a NotFoundError: a
 * scheduled run pointed at the wrong home must not succeed silently forever.
 */
export async function backupAll(request: BackupAllRequest, deps: EngineDeps): Promise<BackupAllSummary> {
  const entries = listSandboxes(deps);
  if (entries.length === 0) {
    throw new NotFoundError('no-sandboxes', `no sandbox is registered in ${deps.layout.home}, so there is nothing to back up`, {
      hint: `if ${deps.layout.home} is the wrong home, point CLAWBACK_HOME (or --home) at the right one; otherwise register a sandbox with \`clawback sandbox add\` or \`clawback discover\``,
    });
  }
  const rows: BackupAllRow[] = [];
  for (const entry of entries) {
    const row = await backupOne(entry, request, deps);
    rows.push(row);
    request.onRow?.(row);
  }
  return {
    rows,
    counts: {
      backedUp: rows.filter((r) => r.status === 'ok').length,
      failed: rows.filter((r) => r.status === 'failed').length,
      skipped: rows.filter((r) => r.status === 'skipped').length,
    },
  };
}

async function backupOne(entry: SandboxEntry, request: BackupAllRequest, deps: EngineDeps): Promise<BackupAllRow> {
  try {
    if (!request.includeStopped && !(await isRunning(entry, request.hooks))) {
      return { name: entry.name, status: 'skipped', reason: 'not running' };
    }
    const events = { ...deps.events, warning: (message: string) => deps.events.warning?.(`${entry.name}: ${message}`) };
    const snapshot = await createSnapshot({ sandbox: entry.name, scope: {} }, { ...deps, events });
    recordRun(entry.name, 'backup-all', { snapshot }, deps);
    if (snapshot.incomplete || snapshot.degraded.length > 0) {
      const missed = snapshot.missedDatabases.length > 0 ? `database(s) not captured: ${snapshot.missedDatabases.map((d) => d.path).join(', ')}; ` : '';
      const raw = missed + (snapshot.degraded.length > 0 ? `${snapshot.degraded.length} unreadable database(s) captured as raw bytes: ${snapshot.degraded.map((d) => d.path).join(', ')}` : '');
      return {
        name: entry.name,
        status: 'failed',
        reason: `snapshot ${snapshot.incomplete ? `incomplete: ${snapshot.skipped} path(s) skipped, some unreadable${raw ? '; ' : ''}` : 'partial: '}${raw} (kept at ${snapshot.dir})`,
        code: 'incomplete',
        exitCode: 3,
        snapshot,
      };
    }
    if (request.push === undefined) return { name: entry.name, status: 'ok', snapshot };
    return await pushRow(entry.name, snapshot, request.push);
  } catch (thrown) {
    recordRun(entry.name, 'backup-all', { error: thrown }, deps);
    const error = asUserError(thrown);
    if (error instanceof ClawbackError) {
      const row: BackupAllRow = { name: entry.name, status: 'failed', reason: error.message, code: error.code, exitCode: error.exitCode };
      if (error.details.length > 0) row.details = error.details;
      if (error.hint !== undefined) row.hint = error.hint;
      return row;
    }
    const bug = error instanceof Error ? error : new Error(String(error));
    return { name: entry.name, status: 'failed', reason: `internal error: ${bug.message}`, code: 'internal', exitCode: 1, bug };
  }
}

async function pushRow(name: string, snapshot: SnapshotSummary, push: NonNullable<BackupAllRequest['push']>): Promise<BackupAllRow> {
  try {
    return { name, status: 'ok', snapshot, pushed: await push(name, snapshot.timestamp) };
  } catch (thrown) {
    const error = asUserError(thrown);
    if (!(error instanceof ClawbackError)) throw error;
    const row: BackupAllRow = { name, status: 'failed', reason: `push failed: ${error.message} (the snapshot stays at ${snapshot.dir})`, code: error.code, exitCode: error.exitCode, snapshot };
    if (error.hint !== undefined) row.hint = error.hint;
    return row;
  }
}

/** Running = the `running` hook exits 0; without a hook, the root exists. A hook that cannot run is an error, not "stopped". */
async function isRunning(entry: SandboxEntry, hooks: HookSettings): Promise<boolean> {
  if (entry.hooks.running === undefined) return rootExists(entry.root);
  const outcome = await runHook(entry, 'running', hooks);
  if (outcome.timedOut || outcome.exitCode === undefined || SHELL_CANNOT_RUN.has(outcome.exitCode)) throw hookFailure(entry.name, outcome);
  return outcome.exitCode === 0;
}
