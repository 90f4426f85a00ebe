import fs from 'node:fs';
import path from 'node:path';
import { asUserError, NotFoundError, RefusedError } from '../../errors.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import { PAYLOAD_DIR, type BundleMount, type DatabaseRecord, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { InventoryWriter, type InventorySummary } from '../../store/inventory-writer.js';
import { ensureDir } from '../../store/atomic.js';
import { listBundles, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import { shortIdOf } from '../../store/short-id.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { completeHeader, type HeaderDraft } from '../bundle/complete-manifest.js';
import { assertLabelUnused, validateLabel } from '../bundle/label.js';
import { publishBundle } from '../bundle/publish.js';
import { cacheSpaceDigest, DigestRows } from '../bundle/space.js';
import { freeTimestamp } from '../bundle/timestamp.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { sandboxLock } from '../sandbox/lock.js';
import { Selection, type ScopeOptions } from '../sandbox/selection.js';
import { BundleWriter } from './bundle-writer.js';
import { linkSources } from './link-sources.js';
import { OVERLONG_REASON, skipOverlongPaths } from './overlong.js';
import { scanMounts, type ScanResult } from '../sandbox/scan.js';
import { assertAgentsFound } from './agents-found.js';

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
}

const MAX_LISTED = 20;

export async function createSnapshot(request: CreateSnapshotRequest, deps: EngineDeps): Promise<SnapshotSummary> {
  if (request.label !== undefined) validateLabel(request.label);
  const lock = sandboxLock(deps, request.sandbox, 'snapshot create');
  try {
    return await createSnapshotLocked(request, deps);
  } finally {
    lock.release();
  }
}

/** Same as createSnapshot, for callers (restore, rebuild) that already hold the sandbox lock. */
export async function createSnapshotLocked(request: CreateSnapshotRequest, deps: EngineDeps): Promise<SnapshotSummary> {
  const started = deps.clock();
  const sandbox = scanSandbox(request, deps);
  const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
  ensureDir(sandboxDir);
  const records = listBundles(sandboxDir);
  if (request.label !== undefined) assertLabelUnused(request.label, records, request.sandbox);
  const timestamp = freeTimestamp(sandboxDir, deps.now());
  const partialDir = path.join(sandboxDir, timestamp + PARTIAL_SUFFIX);
  const totalBytes = sandbox.scan.entries.fileTotals().bytes;
  try {
    fs.mkdirSync(partialDir, { mode: 0o700 });
    for (const warning of skipOverlongPaths(sandbox.scan, path.join(partialDir, PAYLOAD_DIR))) deps.events.warning?.(warning);
    const { writer, inventory, seen, digest } = await writePayload(partialDir, sandbox, records, deps);
    const header = completeHeader({ ...draftHeader(request, sandbox, timestamp, seen, deps), degraded: writer.degraded, databases: databaseRecord(writer) }, inventory);
    deps.events.phase?.('sync');
    const dir = publishBundle(partialDir, header, inventory, deps, 'create');
    cacheSpaceDigestQuietly(sandboxDir, timestamp, digest, deps);
    const bundle = { name: header.name, totals: inventory.totals, failedBackupDirs: header.failedBackupDirs };
    return {
      sandbox: request.sandbox,
      timestamp,
      shortId: shortIdOf(request.sandbox, timestamp),
      name: bundle.name,
      dir,
      files: bundle.totals.files,
      bytes: bundle.totals.bytes,
      linkedFiles: writer.linked,
      copiedFiles: writer.copied,
      copiedBytes: writer.copiedBytes,
      databases: writer.databases,
      skipped: sandbox.scan.skipped.length,
      warnings: [...sandbox.scan.warnings, ...writer.degraded.map((d) => `${d.path}: ${d.reason}`)],
      incomplete: bundle.failedBackupDirs.length > 0 || writer.missedDatabases.length > 0,
      degraded: writer.degraded,
      missedDatabases: writer.missedDatabases,
      durationMs: deps.clock() - started,
    };
  } catch (error) {
    fs.rmSync(partialDir, { recursive: true, force: true });
    throw asUserError(error, sandboxDir, { nothingWritten: true, needBytes: totalBytes, needInodes: sandbox.scan.entries.length + 2 });
  }
}

/** The sandbox as a snapshot sees it: its layout, the selection, and the scan of its state root. */
interface ScannedSandbox {
  entry: SandboxEntry;
  manifest: AgentManifest;
  mounts: BundleMount[];
  selection: Selection;
  scan: ScanResult;
}

/** Scans the sandbox's mounts, refusing unsafe links and special files before anything is written. */
function scanSandbox(request: CreateSnapshotRequest, deps: EngineDeps): ScannedSandbox {
  const entry = getSandbox(deps.layout, request.sandbox);
  const manifest = loadAgentManifest(entry.agent);
  const mounts = resolveMounts(entry, manifest, deps.host.homeDir);
  if (!fs.statSync(entry.root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new NotFoundError('root-not-found', `state root ${entry.root} of ${request.sandbox} does not exist`, {
      hint: `check the path, or fix it with \`clawback sandbox set ${request.sandbox} --root DIR\``,
    });
  }
  const selection = new Selection(manifest, mounts, request.scope);
  deps.events.phase?.('scan');
  const scan = scanMounts(mounts, selection, manifest.managedLinks, [deps.layout.home]);
  const refused = [...scan.unsafeLinks, ...scan.specialFiles];
  if (refused.length > 0) {
    throw new RefusedError('unsafe-links', `refusing to snapshot ${request.sandbox}: ${refused.length} unsafe entr${refused.length === 1 ? 'y' : 'ies'} (absolute or escaping symlinks, FIFOs, devices)`, {
      hint: 'make the links relative and inside the root, or, if the agent manages them itself, declare them under managed_links in a custom manifest (`clawback manifest show <kind>` prints one to start from)',
      details: refused.slice(0, MAX_LISTED).concat(refused.length > MAX_LISTED ? [`... and ${refused.length - MAX_LISTED} more`] : []),
    });
  }
  assertAgentsFound(request.scope, scan, manifest, mounts, [deps.layout.home]);
  for (const warning of scan.warnings) deps.events.warning?.(warning);
  deps.fault?.('create:scanned');
  return { entry, manifest, mounts, selection, scan };
}

/** What the header needs to know of the entries, gathered as they stream into the inventory. */
interface SeenEntries {
  stateFiles: Array<{ path: string; strategy: string }>;
  includesSecrets: boolean;
}

/**
 * Writes the payload, linking unchanged files from earlier bundles, and streams the inventory
 * out beside it; what could not be read joins the scan's skipped list, written after the entries.
 */
async function writePayload(
  partialDir: string,
  sandbox: ScannedSandbox,
  records: BundleRecord[],
  deps: EngineDeps,
): Promise<{ writer: BundleWriter; inventory: InventorySummary; seen: SeenEntries; digest: DigestRows }> {
  const { scan, manifest, selection } = sandbox;
  const payload = path.join(partialDir, PAYLOAD_DIR);
  fs.mkdirSync(payload, { mode: 0o700 });
  const wanted = new Set<string>();
  for (let i = 0; i < scan.entries.length; i++) if (scan.entries.type(i) === 'file') wanted.add(scan.entries.path(i));
  deps.events.phase?.('copy', scan.entries.fileTotals());
  const writer = new BundleWriter(payload, linkSources(records, wanted, deps), deps);
  wanted.clear();
  const sink = new InventoryWriter(partialDir);
  const seen: SeenEntries = { stateFiles: [], includesSecrets: false };
  const digest = new DigestRows();
  const stateFiles = new Set(manifest.stateFiles.map((f) => f.path));
  try {
    await writer.writeAll(scan.entries, (entry) => {
      sink.add(entry);
      digest.add(entry);
      if (entry.type === 'file' && (entry.strategy === 'sqlite_backup' || stateFiles.has(entry.path))) seen.stateFiles.push({ path: entry.path, strategy: entry.strategy ?? 'copy' });
      if (!seen.includesSecrets && selection.isSecretModule(entry.module)) seen.includesSecrets = true;
    });
    scan.skipped.push(...writer.unreadable, ...writer.missedDatabases);
    const accounted = new Set([...writer.unreadable, ...writer.missedDatabases].map((u) => u.path));
    for (const vanished of writer.vanished) {
      if (!accounted.has(vanished)) scan.skipped.push({ path: vanished, reason: 'vanished during the snapshot' });
    }
    for (const skipped of scan.skipped) sink.addSkipped(skipped);
    return { writer, inventory: sink.finish(), seen, digest };
  } finally {
    sink.close();
  }
}

function draftHeader(request: CreateSnapshotRequest, sandbox: ScannedSandbox, timestamp: string, seen: SeenEntries, deps: EngineDeps): HeaderDraft {
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
function databaseRecord(writer: BundleWriter): DatabaseRecord {
  const captured = [...writer.databases].sort();
  const expected = [...new Set([...captured, ...writer.degraded.map((d) => d.path), ...writer.missedDatabases.map((d) => d.path)])].sort();
  return { expected, captured, missing: writer.missedDatabases };
}

/** `snapshot list` would otherwise parse this inventory once to size the bundle; a failure here costs only that. */
function cacheSpaceDigestQuietly(sandboxDir: string, id: string, rows: DigestRows, deps: EngineDeps): void {
  try {
    cacheSpaceDigest(sandboxDir, id, rows);
  } catch (error) {
    deps.events.warning?.(`could not cache the size of ${id}: ${(error as Error).message}`);
  }
}
