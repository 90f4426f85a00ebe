import type { ToDirSummary } from '../../engine/restore/to-dir.js';
import type { JsonDocument } from './document.js';
import { formatBytes, formatDurationMs } from './format.js';

export interface RestoreToDirJson {
  sandbox: string;
  dryRun: boolean;
  bundle: { id: string; timestamp: string; name: string | null; version: number | null; dir: string };
  dir: string;
  counts: { files: number; dirs: number; symlinks: number; bytes: number };
  paths: string[];
  databases: string[];
  warnings: string[];
  durationMs: number;
}

export interface RestoreToDirDocument extends JsonDocument {
  restoreToDir: RestoreToDirJson;
}

export function json(s: ToDirSummary): RestoreToDirDocument {
  return {
    schemaVersion: 1,
    restoreToDir: {
      sandbox: s.sandbox,
      dryRun: s.dryRun,
      bundle: { id: s.bundle.id, timestamp: s.bundle.timestamp, name: s.bundle.name, version: s.bundle.version, dir: s.bundle.dir },
      dir: s.dir,
      counts: { files: s.counts.files, dirs: s.counts.dirs, symlinks: s.counts.symlinks, bytes: s.counts.bytes },
      paths: [...s.paths],
      databases: [...s.databases],
      warnings: [...s.warnings],
      durationMs: s.durationMs,
    },
  };
}

const SHOWN = 5;
const SHOWN_DRY_RUN = 20;

export function text(s: ToDirSummary): string[] {
  const source = `${s.sandbox} v${s.bundle.version ?? '?'} (${s.bundle.name ?? s.bundle.timestamp})`;
  const { files, dirs, symlinks, bytes } = s.counts;
  const what = `${files} files (${formatBytes(bytes)}), ${dirs} directories${symlinks ? `, ${symlinks} symlinks` : ''}`;
  const lines = s.dryRun
    ? [`dry run: would write ${source} into ${s.dir}: ${what}; every file checked against the manifest`]
    : [`✓ wrote ${source} into ${s.dir}: ${what} in ${formatDurationMs(s.durationMs)}, every file checked against the manifest`];
  const shown = s.paths.slice(0, s.dryRun ? SHOWN_DRY_RUN : SHOWN);
  for (const p of shown) lines.push(`  ${p}`);
  const more = files + symlinks - shown.length;
  if (more > 0) lines.push(`  … and ${more} more`);
  if (s.databases.length) lines.push(`  SQLite through the backup API: ${s.databases.join(', ')}`);
  if (!s.dryRun) lines.push('  nothing was registered and the live state was not touched');
  return lines;
}
