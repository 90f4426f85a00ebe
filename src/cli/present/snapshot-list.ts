import type { DiskUsage, SnapshotRow } from '../../engine/inspect/list.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { scopeJson, scopeText, type ScopeJson } from './scope.js';
import { renderTable } from './table.js';
import { compactTimestamps, wrapLine, type TextView } from './terminal-text.js';

export interface SnapshotRowJson {
  version: number | null;
  /** The bundle's directory name (its timestamp; `.partial` for an unfinished one). */
  id: string;
  /** 8 hex characters, fixed for the snapshot's life; a prefix of ≥ 4 is a selector. */
  shortId: string;
  name: string | null;
  timestamp: string;
  state: 'complete' | 'partial' | 'corrupt';
  files: number | null;
  bytes: number | null;
  uniqueBytes: number | null;
  path: string;
  problem: string | null;
  /** Files captured as raw bytes (SQLite could not read them); null when the bundle's header is unreadable. */
  degraded: string[] | null;
  /** A bundle NemoClaw itself wrote (format nemoclaw-v1): read in place, never changed, no hashes. */
  legacy: boolean;
  /** Databases the snapshot found but could not capture; null when the bundle's header is unreadable. */
  missingDatabases: string[] | null;
  /** full, or the modules/agents a partial snapshot holds and whether secrets are in it; null when the header is unreadable. */
  scope: ScopeJson | null;
}

export interface DiskUsageJson {
  bytes: number;
  files: number;
  totalBytes: number;
  method: 'manifests' | 'inodes';
  uncounted: string[];
}

export interface ListDocument extends JsonDocument {
  sandbox: string;
  snapshots: SnapshotRowJson[];
  diskUsage: DiskUsageJson;
}

export interface ListResult {
  sandbox: string;
  snapshots: SnapshotRow[];
  diskUsage: DiskUsage;
}

function rowJson(r: SnapshotRow): SnapshotRowJson {
  return { version: r.version, id: r.id, shortId: r.shortId, name: r.name, timestamp: r.timestamp, state: r.state, files: r.files, bytes: r.bytes, uniqueBytes: r.uniqueBytes, path: r.path, problem: r.problem, degraded: r.degraded ? [...r.degraded] : null, legacy: r.legacy, missingDatabases: r.missingDatabases ? [...r.missingDatabases] : null, scope: r.scope ? scopeJson(r.scope) : null };
}

export function json(result: ListResult): ListDocument {
  const u = result.diskUsage;
  return {
    schemaVersion: 1,
    sandbox: result.sandbox,
    snapshots: result.snapshots.map(rowJson),
    diskUsage: { bytes: u.bytes, files: u.files, totalBytes: u.totalBytes, method: u.method, uncounted: [...u.uncounted] },
  };
}

function diskUsageLine(count: number, usage: DiskUsage): string {
  const uncounted = usage.uncounted.length > 0 ? `; ${usage.uncounted.length} incomplete/corrupt not counted (--exact counts them)` : '';
  const how = usage.method === 'inodes' ? 'counted by inode' : 'shared files counted once';
  return `${count} snapshot(s): ${formatBytes(usage.bytes)} on disk in ${usage.files} files (${how}; ${formatBytes(usage.totalBytes)} without sharing)${uncounted}`;
}

function stateCell(r: SnapshotRow): string {
  if (r.state === 'complete') {
    const notes = [...(r.missingDatabases?.length ? [`${r.missingDatabases.length} db missing`] : []), ...(r.degraded?.length ? [`${r.degraded.length} raw`] : [])];
    return notes.length > 0 ? `yes (${notes.join(', ')})` : 'yes';
  }
  return r.state === 'partial' ? 'no (incomplete)' : `no (corrupt: ${r.problem ?? ''})`;
}

export function text(result: ListResult, view: TextView): string[] {
  const { sandbox, snapshots: rows } = result;
  if (rows.length === 0) return [`${sandbox} has no snapshots (create one with \`clawback ${sandbox} snapshot create\`)`];
  const stamps = compactTimestamps(rows.map((r) => r.timestamp), view);
  // The id is what a user types back: never shortened (the timestamp gives way only below 80 columns). The Complete column only says
  // something in the default form when some snapshot is not plainly complete.
  const wide = view.width === undefined;
  const showState = wide || rows.some((r) => stateCell(r) !== 'yes');
  // What deleting a snapshot frees is in --wide (and --json): 80 columns hold the rest.
  const head = ['Version', 'ID', 'Timestamp', 'Name', 'Scope', 'Files', 'Size', ...(wide ? ['Unique'] : []), ...(showState ? ['Complete'] : [])];
  const table = renderTable(
    head,
    rows.map((r, i) => [
      (r.version !== null ? `v${r.version}` : '-') + (r.legacy ? ' (legacy)' : ''),
      r.shortId,
      stamps[i]!,
      r.name ?? '',
      r.scope ? scopeText(r.scope) : '-',
      r.files ?? '-',
      r.bytes !== null ? formatBytes(r.bytes) : '-',
      ...(wide ? [r.uniqueBytes !== null ? formatBytes(r.uniqueBytes) : '-'] : []),
      ...(showState ? [stateCell(r)] : []),
    ]),
    view,
    { shrink: { 3: 'middle', 4: 'end', [head.length - 1]: 'end' }, keep: [0, 1] },
  );
  return [...table, ...wrapLine(diskUsageLine(rows.length, result.diskUsage), view)];
}
