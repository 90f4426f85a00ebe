import type { AgentManifest } from '../../manifest/agent-manifest.js';
import type { BundleEntry, BundleMount, DatabaseRecord, QuickCheckedCopy, SkippedEntry } from '../../manifest/bundle-manifest.js';
import { RefusedError } from '../../errors.js';
import { InventoryWriter, type InventorySummary } from '../../store/inventory-writer.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { HeaderDraft } from '../bundle/complete-manifest.js';
import { cacheSpaceDigest, DigestRows } from '../bundle/space.js';
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

/** What the header needs to know of the entries, gathered as they stream into the inventory. */
export interface SeenEntries {
  stateFiles: Array<{ path: string; strategy: string }>;
  includesSecrets: boolean;
}

/** What a payload writer (local or through a transport) leaves for the inventory's skipped list. */
interface WriterLosses {
  unreadable: SkippedEntry[];
  missedDatabases: SkippedEntry[];
  vanished: ReadonlySet<string>;
}

/**
 * The inventory sidecar as entries stream out of a payload writer, with what the header and the
 * space digest need gathered on the way. close() always; finish() once every entry is in.
 */
export class InventorySink {
  readonly seen: SeenEntries = { stateFiles: [], includesSecrets: false };
  readonly digest = new DigestRows();
  private readonly writer: InventoryWriter;
  private readonly stateFiles: Set<string>;

  constructor(partialDir: string, private readonly sandbox: ScannedSandbox) {
    this.writer = new InventoryWriter(partialDir);
    this.stateFiles = new Set(sandbox.manifest.stateFiles.map((f) => f.path));
  }

  add(entry: BundleEntry): void {
    this.writer.add(entry);
    this.digest.add(entry);
    if (entry.type === 'file' && (entry.strategy === 'sqlite_backup' || this.stateFiles.has(entry.path))) this.seen.stateFiles.push({ path: entry.path, strategy: entry.strategy ?? 'copy' });
    if (!this.seen.includesSecrets && this.sandbox.selection.isSecretModule(entry.module)) this.seen.includesSecrets = true;
  }

  /** What could not be read joins the scan's skipped list, written after the entries. */
  finish(losses: WriterLosses): InventorySummary {
    const scan = this.sandbox.scan;
    scan.skipped.push(...losses.unreadable, ...losses.missedDatabases);
    const accounted = new Set([...losses.unreadable, ...losses.missedDatabases].map((u) => u.path));
    for (const vanished of losses.vanished) {
      if (!accounted.has(vanished)) scan.skipped.push({ path: vanished, reason: 'vanished during the snapshot' });
    }
    for (const skipped of scan.skipped) this.writer.addSkipped(skipped);
    return this.writer.finish();
  }

  close(): void {
    this.writer.close();
  }
}

export function draftHeader(request: CreateSnapshotRequest, sandbox: ScannedSandbox, timestamp: string, seen: SeenEntries, deps: EngineDeps): HeaderDraft {
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
    stateFiles: seen.stateFiles,
    includesSecrets: seen.includesSecrets,
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
  };
}

/** Every database the snapshot found, and what became of each: "complete" never hides a missing database. */
export function databaseRecord(writer: { databases: string[]; degraded: SkippedEntry[]; missedDatabases: SkippedEntry[] }): DatabaseRecord {
  const captured = [...writer.databases].sort();
  const expected = [...new Set([...captured, ...writer.degraded.map((d) => d.path), ...writer.missedDatabases.map((d) => d.path)])].sort();
  return { expected, captured, missing: writer.missedDatabases };
}

/** The database copies written or linked that passed quick_check, in path order (the header's quickCheckedDatabases). */
export function quickCheckedRecord(writer: { quickChecked: QuickCheckedCopy[] }): QuickCheckedCopy[] {
  return [...writer.quickChecked].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `snapshot list` would otherwise parse this inventory once to size the bundle; a failure here costs only that. */
export function cacheSpaceDigestQuietly(sandboxDir: string, id: string, rows: DigestRows, deps: EngineDeps): void {
  try {
    cacheSpaceDigest(sandboxDir, id, rows);
  } catch (error) {
    deps.events.warning?.(`could not cache the size of ${id}: ${(error as Error).message}`);
  }
}
