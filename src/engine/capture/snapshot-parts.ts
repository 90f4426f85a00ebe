import type { AgentManifest } from '../../manifest/agent-manifest.js';
import type { BundleEntry, BundleMount, DatabaseRecord, SkippedEntry } from '../../manifest/bundle-manifest.js';
import { RefusedError } from '../../errors.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { ManifestDraft } from '../bundle/complete-manifest.js';
import { cacheSpaceDigest } from '../bundle/space.js';
import type { EngineDeps } from '../deps.js';
import type { ScanResult } from '../sandbox/scan.js';
import type { Selection } from '../sandbox/selection.js';
import type { ScopeOptions } from '../sandbox/selection.js';
import { OVERLONG_REASON } from './overlong.js';

/** What a snapshot of a local root and one taken through a transport (remote-create.ts) share. */

export interface CreateSnapshotRequest {
  sandbox: string;
  label?: string;
  scope: ScopeOptions;
}

export interface SnapshotSummary {
  sandbox: string;
  timestamp: string;
  /** The snapshot's short id (store/short-id.ts), accepted as a selector. */
  shortId: string;
  name: string | null;
  dir: string;
  files: number;
  bytes: number;
  /** Unchanged files hard-linked from the newest bundle that holds each. */
  linkedFiles: number;
  copiedFiles: number;
  copiedBytes: number;
  databases: string[];
  skipped: number;
  warnings: string[];
  /** Some paths could not be read (or were too long): the bundle is complete for everything else (exit 3). */
  incomplete: boolean;
  /** Files captured as raw bytes because SQLite could not read them (exit 3 too). */
  degraded: SkippedEntry[];
  /** Databases found but not in the bundle at all, e.g. held locked by another process (exit 3 too). */
  missedDatabases: SkippedEntry[];
  durationMs: number;
  /** Through a transport only: its `--via`, and the bytes that crossed the wire (listing, files, databases). */
  via?: string;
  transferredBytes?: number;
  /** Databases copied raw with their -wal and made self-contained here: the target has no SQLite. */
  capturedWithoutSqlite?: string[];
}

const MAX_LISTED = 20;

/** Unsafe links and special files refuse the whole snapshot, before anything is written. */
export function refuseUnsafeEntries(sandbox: string, scan: ScanResult): void {
  const refused = [...scan.unsafeLinks, ...scan.specialFiles];
  if (refused.length > 0) {
    throw new RefusedError('unsafe-links', `refusing to snapshot ${sandbox}: ${refused.length} unsafe entr${refused.length === 1 ? 'y' : 'ies'} (absolute or escaping symlinks, FIFOs, devices)`, {
      hint: 'make the links relative and inside the root, or, if the agent manages them itself, declare them under managed_links in a custom manifest (`clawback manifest show <kind>` prints one to start from)',
      details: refused.slice(0, MAX_LISTED).concat(refused.length > MAX_LISTED ? [`... and ${refused.length - MAX_LISTED} more`] : []),
    });
  }
}

/** The sandbox as a snapshot sees it: its layout, the selection, and the scan of its state root. */
export interface ScannedSandbox {
  entry: SandboxEntry;
  manifest: AgentManifest;
  mounts: BundleMount[];
  selection: Selection;
  scan: ScanResult;
}

export function draftManifest(request: CreateSnapshotRequest, sandbox: ScannedSandbox, timestamp: string, entries: BundleEntry[], deps: EngineDeps): ManifestDraft {
  const { entry, manifest, mounts, selection, scan } = sandbox;
  const { scope } = request;
  return {
    tool: { name: 'clawback', version: deps.toolVersion },
    sandboxName: request.sandbox,
    timestamp,
    name: request.label ?? null,
    agentType: manifest.agent,
    agentVersion: null,
    capture: manifest.capture,
    stateDirs: manifest.stateDirs.map((d) => (d.prefix ? `${d.path}*` : d.path)),
    backedUpDirs: scan.topDirs,
    failedBackupDirs: scan.skipped.filter((s) => s.reason.startsWith('unreadable') || s.reason.startsWith(OVERLONG_REASON)).map((s) => s.path),
    stateFiles: entries
      .filter((e) => e.type === 'file' && (e.strategy === 'sqlite_backup' || manifest.stateFiles.some((f) => f.path === e.path)))
      .map((e) => ({ path: e.path, strategy: e.strategy ?? 'copy' })),
    includesSecrets: entries.some((e) => selection.isSecretModule(e.module)),
    modulesExpected: (scope.only ?? selection.modulesKnown).filter((m) => scope.noSecrets !== true || !selection.isSecretModule(m)),
    policyPresets: entry.policyPresets,
    customPolicies: entry.customPolicies,
    backupComplete: true,
    scope: {
      full: scope.only === undefined && scope.agents === undefined && scope.noSecrets !== true,
      modules: scope.only ?? selection.modulesKnown,
      agents: scope.agents ?? null,
      includesSecrets: scope.noSecrets !== true,
      excludes: scope.excludes ?? [],
    },
    // Only mounts the snapshot covers: a restore recreates every recorded mount dir.
    mounts: mounts.filter((m) => m.prefix === '' || selection.classify(m.prefix, true).kind === 'in_scope'),
    entries,
    skipped: scan.skipped,
  };
}

/** Every database the snapshot found, and what became of each: "complete" never hides a missing database. */
export function databaseRecord(writer: { databases: string[]; degraded: SkippedEntry[]; missedDatabases: SkippedEntry[] }): DatabaseRecord {
  const captured = [...writer.databases].sort();
  const expected = [...new Set([...captured, ...writer.degraded.map((d) => d.path), ...writer.missedDatabases.map((d) => d.path)])].sort();
  return { expected, captured, missing: writer.missedDatabases };
}

/** `snapshot list` would otherwise parse this inventory once to size the bundle; a failure here costs only that. */
export function cacheSpaceDigestQuietly(sandboxDir: string, id: string, entries: BundleEntry[], deps: EngineDeps): void {
  try {
    cacheSpaceDigest(sandboxDir, id, entries);
  } catch (error) {
    deps.events.warning?.(`could not cache the size of ${id}: ${(error as Error).message}`);
  }
}
