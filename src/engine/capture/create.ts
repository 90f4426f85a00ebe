import fs from 'node:fs';
import path from 'node:path';
import { asUserError, NotFoundError } from '../../errors.js';
import { PAYLOAD_DIR } from '../../manifest/bundle-manifest.js';
import type { InventorySummary } from '../../store/inventory-writer.js';
import { ensureDir } from '../../store/atomic.js';
import { listBundles, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import { shortIdOf } from '../../store/short-id.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { completeHeader } from '../bundle/complete-manifest.js';
import { assertLabelUnused, validateLabel } from '../bundle/label.js';
import { publishBundle } from '../bundle/publish.js';
import { freeTimestamp } from '../bundle/timestamp.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { sandboxLock } from '../sandbox/lock.js';
import { Selection } from '../sandbox/selection.js';
import { BundleWriter } from './bundle-writer.js';
import { linkSources } from './link-sources.js';
import { skipOverlongPaths } from './overlong.js';
import { scanMounts } from '../sandbox/scan.js';
import { assertAgentsFound } from './agents-found.js';
import { createRemoteSnapshotLocked } from './remote-create.js';
import { isRemoteSandbox } from '../sandbox/transport.js';
import {
  cacheSpaceDigestQuietly,
  databaseRecord,
  draftHeader,
  InventorySink,
  refuseUnsafeEntries,
  type CreateSnapshotRequest,
  type ScannedSandbox,
  type SnapshotSummary,
} from './snapshot-parts.js';

export type { CreateSnapshotRequest, SnapshotSummary } from './snapshot-parts.js';

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
  if (isRemoteSandbox(getSandbox(deps.layout, request.sandbox))) return createRemoteSnapshotLocked(request, deps);
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
    const { writer, inventory, sink } = await writePayload(partialDir, sandbox, records, deps);
    const header = completeHeader({ ...draftHeader(request, sandbox, timestamp, sink.seen, deps), degraded: writer.degraded, databases: databaseRecord(writer) }, inventory);
    deps.events.phase?.('sync');
    const dir = publishBundle(partialDir, header, inventory, deps, 'create');
    cacheSpaceDigestQuietly(sandboxDir, timestamp, sink.digest, deps);
    return {
      sandbox: request.sandbox,
      timestamp,
      shortId: shortIdOf(request.sandbox, timestamp),
      name: header.name,
      dir,
      files: inventory.totals.files,
      bytes: inventory.totals.bytes,
      linkedFiles: writer.linked,
      copiedFiles: writer.copied,
      copiedBytes: writer.copiedBytes,
      databases: writer.databases,
      skipped: sandbox.scan.skipped.length,
      warnings: [...sandbox.scan.warnings, ...writer.degraded.map((d) => `${d.path}: ${d.reason}`)],
      incomplete: header.failedBackupDirs.length > 0 || writer.missedDatabases.length > 0,
      degraded: writer.degraded,
      missedDatabases: writer.missedDatabases,
      durationMs: deps.clock() - started,
    };
  } catch (error) {
    fs.rmSync(partialDir, { recursive: true, force: true });
    throw asUserError(error, sandboxDir, { nothingWritten: true, needBytes: totalBytes, needInodes: sandbox.scan.entries.length + 2 });
  }
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
  refuseUnsafeEntries(request.sandbox, scan);
  assertAgentsFound(request.scope, scan, manifest, mounts, [deps.layout.home]);
  for (const warning of scan.warnings) deps.events.warning?.(warning);
  deps.fault?.('create:scanned');
  return { entry, manifest, mounts, selection, scan };
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
): Promise<{ writer: BundleWriter; inventory: InventorySummary; sink: InventorySink }> {
  const { scan } = sandbox;
  const payload = path.join(partialDir, PAYLOAD_DIR);
  fs.mkdirSync(payload, { mode: 0o700 });
  // A file's slot is its index in the scan.
  const wanted = new Map<string, number>();
  for (let i = 0; i < scan.entries.length; i++) if (scan.entries.type(i) === 'file') wanted.set(scan.entries.path(i), i);
  deps.events.phase?.('copy', scan.entries.fileTotals());
  const writer = new BundleWriter(payload, linkSources(records, wanted, deps), deps);
  wanted.clear();
  const sink = new InventorySink(partialDir, sandbox);
  try {
    await writer.writeAll(scan.entries, (entry) => sink.add(entry));
    return { writer, inventory: sink.finish(writer), sink };
  } finally {
    sink.close();
  }
}
