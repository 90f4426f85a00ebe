import type { BackupAllRow, BackupAllSummary } from '../../engine/capture/backup-all.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { snapshotJson, type SnapshotJson } from './snapshot-create.js';

export interface BackupAllRowJson {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  code?: string;
  exitCode?: number;
  details?: string[];
  hint?: string;
  snapshot?: SnapshotJson;
  /** backup-all --push: the restic snapshot the bundle became. */
  pushed?: { repo: string; snapshotId: string; dataAdded: number | null };
}

export interface BackupAllDocument extends JsonDocument {
  rows: BackupAllRowJson[];
  counts: { backedUp: number; failed: number; skipped: number };
  strict: boolean;
}

export interface BackupAllResult {
  summary: BackupAllSummary;
  strict: boolean;
}

function rowJson(row: BackupAllRow): BackupAllRowJson {
  return {
    name: row.name,
    status: row.status,
    ...(row.reason !== undefined ? { reason: row.reason } : {}),
    ...(row.code !== undefined ? { code: row.code } : {}),
    ...(row.exitCode !== undefined ? { exitCode: row.exitCode } : {}),
    ...(row.details !== undefined ? { details: [...row.details] } : {}),
    ...(row.hint !== undefined ? { hint: row.hint } : {}),
    ...(row.snapshot !== undefined ? { snapshot: snapshotJson(row.snapshot) } : {}),
    ...(row.pushed !== undefined ? { pushed: { repo: row.pushed.repo, snapshotId: row.pushed.snapshotId, dataAdded: row.pushed.dataAdded } } : {}),
  };
}

export function json(result: BackupAllResult): BackupAllDocument {
  const { backedUp, failed, skipped } = result.summary.counts;
  return { schemaVersion: 1, rows: result.summary.rows.map(rowJson), counts: { backedUp, failed, skipped }, strict: result.strict };
}

/** One sandbox's line, printed as each finishes. */
export function rowLine(row: BackupAllRow): string {
  if (row.status === 'skipped') return `- ${row.name}: skipped (${row.reason ?? 'not running'})`;
  if (row.status === 'failed') return [`✗ ${row.name}: ${row.reason ?? 'failed'}`, ...(row.details ?? []).map((d) => `    ${d}`)].join('\n');
  const snapshot = row.snapshot!;
  const pushed = row.pushed ? `, pushed to ${row.pushed.repo} (restic ${row.pushed.snapshotId.slice(0, 8)})` : '';
  return `✓ ${row.name}: ${snapshot.files} files, ${formatBytes(snapshot.bytes)} → ${snapshot.dir}${pushed}`;
}

function summaryLine(summary: BackupAllSummary): string {
  const { backedUp, failed, skipped } = summary.counts;
  return `${backedUp} backed up, ${failed} failed, ${skipped} skipped`;
}

export function text(result: BackupAllResult): string[] {
  const { summary } = result;
  return [summaryLine(summary)];
}

/** Under --quiet (cron), what went wrong: the failed rows (and skipped ones under --strict). */
export function problemLines(result: BackupAllResult): string[] {
  const shown = result.summary.rows.filter((r) => r.status === 'failed' || (result.strict && r.status === 'skipped'));
  return [...shown.map(rowLine), summaryLine(result.summary)];
}

/** A sandbox whose run hit a bug (not a ClawbackError). */
export function bugLines(row: BackupAllRow): string[] {
  if (row.bug === undefined) return [];
  return [`clawback: internal error while backing up ${row.name} (a bug, please report it)`, row.bug.stack ?? row.bug.message];
}
