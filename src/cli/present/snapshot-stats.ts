import type { SandboxStats, SnapshotStats, StatsCount } from '../../engine/inspect/stats.js';
import { refJson, refText, type SnapshotRefJson } from './browse.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { renderTable } from './table.js';
import { wrapLines, type TextView } from './terminal-text.js';

interface CountJson {
  files: number;
  bytes: number;
  /** Bytes of files whose content no other snapshot of the sandbox holds (README "Browsing a snapshot"). */
  uniqueBytes: number;
}

export interface SnapshotStatsDocument extends JsonDocument, CountJson {
  sandbox: string;
  snapshot: SnapshotRefJson;
  modules: Array<CountJson & { module: string }>;
  agents: Array<CountJson & { agent: string | null }>;
  uncounted: string[];
}

export interface SandboxStatsDocument extends JsonDocument {
  sandbox: string;
  snapshots: Array<CountJson & { snapshot: SnapshotRefJson }>;
  totals: CountJson & { snapshots: number };
  /** On disk: every payload inode once, so files hard-linked into several snapshots count once. */
  disk: { bytes: number; files: number };
  uncounted: string[];
}

const count = (c: StatsCount): CountJson => ({ files: c.files, bytes: c.bytes, uniqueBytes: c.uniqueBytes });

export function snapshotJson(stats: SnapshotStats): SnapshotStatsDocument {
  return {
    schemaVersion: 1,
    sandbox: stats.sandbox,
    snapshot: refJson(stats.snapshot),
    ...count(stats),
    modules: stats.modules.map((m) => ({ module: m.module, ...count(m) })),
    agents: stats.agents.map((a) => ({ agent: a.agent, ...count(a) })),
    uncounted: [...stats.uncounted],
  };
}

export function sandboxJson(stats: SandboxStats): SandboxStatsDocument {
  return {
    schemaVersion: 1,
    sandbox: stats.sandbox,
    snapshots: stats.snapshots.map((s) => ({ snapshot: refJson(s.snapshot), ...count(s) })),
    totals: { snapshots: stats.totals.snapshots, ...count(stats.totals) },
    disk: { bytes: stats.disk.bytes, files: stats.disk.files },
    uncounted: [...stats.uncounted],
  };
}

const cells = (c: StatsCount): string[] => [String(c.files), formatBytes(c.bytes), formatBytes(c.uniqueBytes)];

function uncountedLine(ids: string[]): string[] {
  return ids.length === 0 ? [] : [`not counted (unreadable manifest): ${ids.join(', ')}; unique bytes may be overstated`];
}

export function snapshotText(stats: SnapshotStats, view: TextView): string[] {
  return wrapLines([
    `${refText(stats.snapshot)}: ${stats.files} files, ${formatBytes(stats.bytes)}, ${formatBytes(stats.uniqueBytes)} unique`,
    ...renderTable(['module', 'files', 'bytes', 'unique'], stats.modules.map((m) => [m.module, ...cells(m)]), view, { shrink: { 0: 'middle' } }),
    ...renderTable(['agent', 'files', 'bytes', 'unique'], stats.agents.map((a) => [a.agent ?? '(none)', ...cells(a)]), view, { shrink: { 0: 'middle' } }),
    ...uncountedLine(stats.uncounted),
    'unique: bytes of files whose content no other snapshot of this sandbox holds',
  ], view);
}

export function sandboxText(stats: SandboxStats, view: TextView): string[] {
  const { totals, disk } = stats;
  return wrapLines([
    ...renderTable(['snapshot', 'files', 'bytes', 'unique'], stats.snapshots.map((s) => [refText(s.snapshot), ...cells(s)]), view, { shrink: { 0: 'middle' } }),
    `${totals.snapshots} snapshots: ${totals.files} files, ${formatBytes(totals.bytes)} in all; ${formatBytes(disk.bytes)} on disk (${disk.files} files, hard links counted once)`,
    ...uncountedLine(stats.uncounted),
  ], view);
}
