import type { SnapshotSummary } from '../../engine/capture/create.js';
import type { JsonDocument } from './document.js';
import { formatBytes, formatDurationMs } from './format.js';

export interface SnapshotJson {
  sandbox: string;
  timestamp: string;
  /** 8 hex characters, fixed for the snapshot's life; a prefix of ≥ 4 is a selector. */
  shortId: string;
  name: string | null;
  dir: string;
  files: number;
  bytes: number;
  linkedFiles: number;
  copiedFiles: number;
  copiedBytes: number;
  databases: string[];
  skipped: number;
  warnings: string[];
  incomplete: boolean;
  /** Files captured as raw bytes because SQLite could not read them, with the reason. */
  degraded: Array<{ path: string; reason: string }>;
  /** Databases found but not captured at all (e.g. held locked by another process), with the reason. */
  missedDatabases: Array<{ path: string; reason: string }>;
  durationMs: number;
  /** Through a transport only (SPEC §11): its `--via`, the bytes that crossed the wire, and databases captured without SQLite in the target. */
  via?: string;
  transferredBytes?: number;
  capturedWithoutSqlite?: string[];
}

export interface CreateDocument extends JsonDocument {
  snapshot: SnapshotJson;
}

export function snapshotJson(s: SnapshotSummary): SnapshotJson {
  return {
    sandbox: s.sandbox,
    timestamp: s.timestamp,
    shortId: s.shortId,
    name: s.name,
    dir: s.dir,
    files: s.files,
    bytes: s.bytes,
    linkedFiles: s.linkedFiles,
    copiedFiles: s.copiedFiles,
    copiedBytes: s.copiedBytes,
    databases: [...s.databases],
    skipped: s.skipped,
    warnings: [...s.warnings],
    incomplete: s.incomplete,
    degraded: s.degraded.map((d) => ({ path: d.path, reason: d.reason })),
    missedDatabases: s.missedDatabases.map((d) => ({ path: d.path, reason: d.reason })),
    durationMs: s.durationMs,
    ...(s.via !== undefined ? { via: s.via, transferredBytes: s.transferredBytes ?? 0, capturedWithoutSqlite: [...(s.capturedWithoutSqlite ?? [])] } : {}),
  };
}

export function json(summary: SnapshotSummary): CreateDocument {
  return { schemaVersion: 1, snapshot: snapshotJson(summary) };
}

export function text(s: SnapshotSummary): string[] {
  return [
    `✓ ${s.sandbox} ${s.shortId}: ${s.files} files, ${formatBytes(s.bytes)} → ${s.dir}`,
    `  ${s.copiedFiles} copied (${formatBytes(s.copiedBytes)}), ${s.linkedFiles} unchanged (hard-linked), ${s.databases.length} SQLite database(s), ${s.skipped} skipped, in ${formatDurationMs(s.durationMs)}`,
    ...(s.via !== undefined ? [`  via ${s.via}: ${formatBytes(s.transferredBytes ?? 0)} transferred`] : []),
    ...((s.capturedWithoutSqlite ?? []).length > 0 ? [`  captured without SQLite in the sandbox (copied raw, made self-contained and checked here): ${s.capturedWithoutSqlite!.join(', ')}`] : []),
    ...(s.incomplete ? ['  some paths could not be read (see warnings); everything else is in the snapshot'] : []),
    ...s.missedDatabases.map((d) => `  NOT CAPTURED: ${d.path} (${d.reason})`),
    ...(s.degraded.length > 0 ? [`  ${s.degraded.length} file(s) SQLite could not read were captured as raw bytes: ${s.degraded.map((d) => d.path).join(', ')}`] : []),
  ];
}
