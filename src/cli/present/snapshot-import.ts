import path from 'node:path';
import type { ImportSummary } from '../../engine/archive/import.js';
import type { JsonDocument } from './document.js';
import { formatBytes, formatDurationMs } from './format.js';

export interface ImportJson {
  sandbox: string;
  file: string;
  format: 'tar' | 'tar.gz' | 'qwenpaw-zip' | 'nemoclaw-v1' | 'nemoclaw-backup-dir';
  encrypted: boolean;
  timestamp: string;
  name: string | null;
  dir: string;
  files: number;
  bytes: number;
  databases: string[];
  replaced: string[];
  /** Free-form origin data, e.g. the QwenPaw archive id. */
  origin: Record<string, string>;
  skipped: number;
  warnings: string[];
  durationMs: number;
}

export interface ImportDocument extends JsonDocument {
  import: ImportJson;
}

export function json(s: ImportSummary): ImportDocument {
  return {
    schemaVersion: 1,
    import: {
      sandbox: s.sandbox,
      file: s.file,
      format: s.format,
      encrypted: s.encrypted,
      timestamp: s.timestamp,
      name: s.name,
      dir: s.dir,
      files: s.files,
      bytes: s.bytes,
      databases: [...s.databases],
      replaced: [...s.replaced],
      origin: { ...s.origin },
      skipped: s.skipped,
      warnings: [...s.warnings],
      durationMs: s.durationMs,
    },
  };
}

export function text(summary: ImportSummary): string[] {
  const seconds = summary.durationMs / 1000;
  const rate = seconds > 0 ? `, ${formatBytes(Math.round(summary.bytes / seconds))}/s` : '';
  const lines = [
    `✓ imported ${path.basename(summary.file)} into ${summary.sandbox} as ${summary.timestamp}${summary.name ? ` "${summary.name}"` : ''}`,
    `  ${summary.format}${summary.encrypted ? ', encrypted' : ''}: ${summary.files} files, ${formatBytes(summary.bytes)}, ${summary.databases.length} SQLite database(s), in ${formatDurationMs(summary.durationMs)}${rate}`,
  ];
  if (summary.origin.qwenpawId) lines.push(`  QwenPaw backup id: ${summary.origin.qwenpawId}`);
  if (summary.replaced.length > 0) lines.push(`  replaced the earlier import ${summary.replaced.join(', ')}`);
  lines.push(`  restore it with: clawback ${summary.sandbox} snapshot restore ${summary.name ?? summary.timestamp}`);
  return lines;
}
