import type { ExportSummary } from '../../engine/archive/export.js';
import type { BundleRefJson, JsonDocument } from './document.js';
import { formatBytes, formatDurationMs } from './format.js';

export interface ExportJson {
  sandbox: string;
  bundle: BundleRefJson;
  output: string;
  format: 'tar' | 'tar.gz' | 'qwenpaw-zip';
  encrypted: boolean;
  entries: number;
  files: number;
  bytes: number;
  archiveBytes: number;
  secrets: 'included' | 'left-out' | 'none';
  leftOut: Array<{ path: string; reason: string }>;
  leftOutCount: number;
  qwenpawId: string | null;
  warnings: string[];
  durationMs: number;
}

export interface ExportDocument extends JsonDocument {
  export: ExportJson;
}

export function json(s: ExportSummary): ExportDocument {
  return {
    schemaVersion: 1,
    export: {
      sandbox: s.sandbox,
      bundle: { timestamp: s.bundle.timestamp, name: s.bundle.name, version: s.bundle.version },
      output: s.output,
      format: s.format,
      encrypted: s.encrypted,
      entries: s.entries,
      files: s.files,
      bytes: s.bytes,
      archiveBytes: s.archiveBytes,
      secrets: s.secrets,
      leftOut: s.leftOut.map((e) => ({ path: e.path, reason: e.reason })),
      leftOutCount: s.leftOutCount,
      qwenpawId: s.qwenpawId,
      warnings: [...s.warnings],
      durationMs: s.durationMs,
    },
  };
}

export function text(summary: ExportSummary): string[] {
  const source = `v${summary.bundle.version ?? '?'} (${summary.bundle.name ?? summary.bundle.timestamp})`;
  const seconds = summary.durationMs / 1000;
  const rate = seconds > 0 ? `, ${formatBytes(Math.round(summary.bytes / seconds))}/s` : '';
  const lines = [
    `✓ exported ${summary.sandbox} ${source} → ${summary.output}`,
    `  ${summary.format}${summary.encrypted ? ', encrypted' : ''}: ${summary.files} files, ${formatBytes(summary.bytes)} → ${formatBytes(summary.archiveBytes)} in ${formatDurationMs(summary.durationMs)}${rate}`,
  ];
  if (summary.qwenpawId) lines.push(`  QwenPaw backup id: ${summary.qwenpawId}`);
  if (summary.secrets === 'left-out') lines.push('  secrets left out (pass --include-secrets or --encrypt to keep them)');
  const other = summary.leftOut.filter((s) => !s.reason.startsWith('secrets'));
  if (other.length > 0) lines.push(`  not in the archive: ${other.map((s) => `${s.path} (${s.reason})`).join(', ')}${summary.leftOutCount > summary.leftOut.length ? ', ...' : ''}`);
  return lines;
}
