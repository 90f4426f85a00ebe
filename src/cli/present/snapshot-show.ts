import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import type { BundleRecord } from '../../store/bundles.js';
import type { SnapshotScope } from '../../engine/bundle/scope.js';
import type { JsonDocument } from './document.js';
import { scopeText } from './scope.js';
import { formatBytes } from './format.js';

export interface ModuleCountJson {
  module: string;
  files: number;
  bytes: number;
}

export interface SnapshotDetailJson {
  version: number | null;
  /** 8 hex characters, fixed for the snapshot's life; a prefix of ≥ 4 is a selector. */
  shortId: string;
  timestamp: string;
  name: string | null;
  path: string;
  agentType: string;
  capture: 'whole' | 'selective';
  scope: { full: boolean; modules: string[]; agents: string[] | null; includesSecrets: boolean; excludes: string[] };
  includesSecrets: boolean;
  totals: { files: number; bytes: number };
  modules: ModuleCountJson[];
  /** Modules the snapshot's scope asked for; null for bundles written before clawback recorded it. */
  modulesExpected: string[] | null;
  databases: string[];
  /** Databases the snapshot found (captured, raw, or missing); null for bundles written before clawback recorded it. */
  databasesExpected: string[] | null;
  /** Databases found but not in the bundle at all, with the reason. */
  databasesMissing: Array<{ path: string; reason: string }>;
  symlinks: number;
  /** Skipped entries counted by reason. */
  skipped: Record<string, number>;
  /** Files captured as raw bytes because SQLite could not read them, with the reason. */
  degraded: Array<{ path: string; reason: string }>;
  policyPresets: string[];
  customPolicies: string[];
  contentSha256: string;
  /** clawback-bundle/1, or nemoclaw-v1 for a bundle NemoClaw wrote (read in place, no hashes). */
  format: string;
  /** What a NemoClaw bundle's manifest says; null for clawback's own. */
  nemoclaw: NemoClawDetailJson | null;
}

export interface NemoClawDetailJson {
  dir: string | null;
  backupPath: string | null;
  blueprintDigest: string | null;
  expectedVersion: string | null;
  agentVersion: string | null;
  stateDirs: string[];
  backedUpDirs: string[];
  stateFiles: Array<{ path: string; strategy: string }>;
}

/** A partial or corrupt bundle: no manifest to show. */
export interface UnreadableSnapshotJson {
  id: string;
  shortId: string;
  state: 'complete' | 'partial' | 'corrupt';
  path: string;
  problem: string | null;
}

export interface ShowDocument extends JsonDocument {
  snapshot: SnapshotDetailJson | UnreadableSnapshotJson;
}

function moduleCounts(manifest: BundleManifest): ModuleCountJson[] {
  const counts = new Map<string, { files: number; bytes: number }>();
  for (const entry of manifest.entries) {
    const c = counts.get(entry.module) ?? { files: 0, bytes: 0 };
    if (entry.type === 'file') {
      c.files++;
      c.bytes += entry.size ?? 0;
    }
    counts.set(entry.module, c);
  }
  return [...counts.entries()].sort().map(([module, c]) => ({ module, files: c.files, bytes: c.bytes }));
}

function skippedCounts(manifest: BundleManifest): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of manifest.skipped) counts[s.reason] = (counts[s.reason] ?? 0) + 1;
  return counts;
}

function detail(record: BundleRecord, m: BundleManifest): SnapshotDetailJson {
  const s = m.scope;
  return {
    version: record.version ?? null,
    shortId: record.shortId,
    timestamp: m.timestamp,
    name: m.name,
    path: record.dir,
    agentType: m.agentType,
    capture: m.capture,
    scope: { full: s.full, modules: [...s.modules], agents: s.agents ? [...s.agents] : null, includesSecrets: s.includesSecrets, excludes: [...s.excludes] },
    includesSecrets: m.includesSecrets,
    totals: { files: m.totals.files, bytes: m.totals.bytes },
    modules: moduleCounts(m),
    modulesExpected: m.modulesExpected ? [...m.modulesExpected] : null,
    databases: m.entries.filter((e) => e.strategy === 'sqlite_backup').map((e) => e.path),
    databasesExpected: m.databases ? [...m.databases.expected] : null,
    databasesMissing: (m.databases?.missing ?? []).map((d) => ({ path: d.path, reason: d.reason })),
    symlinks: m.entries.filter((e) => e.type === 'symlink').length,
    skipped: skippedCounts(m),
    degraded: (m.degraded ?? []).map((d) => ({ path: d.path, reason: d.reason })),
    policyPresets: [...m.policyPresets],
    customPolicies: m.customPolicies.map((p) => p.name),
    contentSha256: m.contentSha256,
    format: m.format,
    nemoclaw: m.nemoclaw
      ? {
          ...m.nemoclaw,
          agentVersion: m.agentVersion,
          stateDirs: [...m.stateDirs],
          backedUpDirs: [...m.backedUpDirs],
          stateFiles: m.stateFiles.map((f) => ({ path: f.path, strategy: f.strategy })),
        }
      : null,
  };
}

function nemoclawLines(n: NemoClawDetailJson | null): string[] {
  if (n === null) return [];
  return [
    '  format:     nemoclaw-v1 (written by NemoClaw; read in place, never changed; no hashes)',
    `  sandbox dir: ${n.dir ?? '-'}  (NemoClaw wrote it to ${n.backupPath ?? '-'})`,
    `  state dirs: ${n.backedUpDirs.join(', ') || 'none'}${n.stateDirs.length > n.backedUpDirs.length ? ` (of ${n.stateDirs.join(', ')})` : ''}`,
    `  state files: ${n.stateFiles.map((f) => `${f.path} (${f.strategy})`).join(', ') || 'none'}`,
    `  blueprint:  ${n.blueprintDigest ?? '-'}`,
  ];
}

/** Modules the scope asked for that hold nothing: shown, so an empty one is never mistaken for a missing line. */
function emptyModules(d: SnapshotDetailJson): string[] {
  const held = new Set(d.modules.map((mod) => mod.module));
  return (d.modulesExpected ?? []).filter((name) => !held.has(name));
}

export function json(record: BundleRecord): ShowDocument {
  const m = record.manifest;
  if (!m) return { schemaVersion: 1, snapshot: { id: record.id, shortId: record.shortId, state: record.state, path: record.dir, problem: record.problem?.message ?? null } };
  return { schemaVersion: 1, snapshot: detail(record, m) };
}

export function text(record: BundleRecord, scope: SnapshotScope | undefined): string[] {
  const m = record.manifest;
  if (!m) return [`${record.id}: ${record.state}${record.problem ? ` (${record.problem.message})` : ''}`];
  const d = detail(record, m);
  const skipped = Object.entries(d.skipped);
  return [
    `snapshot v${record.version} of ${m.sandboxName}${m.name ? ` "${m.name}"` : ''}`,
    `  id:         ${record.shortId}`,
    `  timestamp:  ${m.timestamp}`,
    ...nemoclawLines(d.nemoclaw),
    `  path:       ${record.dir}`,
    `  agent:      ${m.agentType} (${m.capture} capture${m.scope.full ? ', full' : ', partial'})`,
    ...(scope ? [`  scope:      ${scopeText(scope)}`] : []),
    `  files:      ${m.totals.files} (${formatBytes(m.totals.bytes)}), ${d.symlinks} symlinks`,
    `  secrets:    ${m.includesSecrets ? 'included' : 'left out'}`,
    `  databases:  ${d.databases.length ? d.databases.join(', ') : 'none'}${d.databasesExpected ? ` (${d.databases.length} of ${d.databasesExpected.length} found)` : ''}`,
    ...d.databasesMissing.map((g) => `    NOT CAPTURED: ${g.path}: ${g.reason}`),
    '  modules:',
    ...d.modules.map((mod) => `    ${mod.module.padEnd(14)} ${String(mod.files).padStart(7)} files  ${formatBytes(mod.bytes)}`),
    ...emptyModules(d).map((name) => `    ${name.padEnd(14)}       - nothing to capture`),
    '  skipped:',
    ...(skipped.length ? skipped.map(([reason, n]) => `    ${n} × ${reason}`) : ['    nothing']),
    ...(d.degraded.length ? ['  captured as raw bytes:', ...d.degraded.map((g) => `    ${g.path}: ${g.reason}`)] : []),
  ];
}
