import fs from 'node:fs';
import path from 'node:path';
import { asUserError } from '../../errors.js';
import { PAYLOAD_DIR } from '../../manifest/bundle-manifest.js';
import { ensureDir } from '../../store/atomic.js';
import type { InventorySummary } from '../../store/inventory-writer.js';
import { listBundles, PARTIAL_SUFFIX } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { shortIdOf } from '../../store/short-id.js';
import type { Transport } from '../../transport/index.js';
import { completeHeader } from '../bundle/complete-manifest.js';
import { assertLabelUnused } from '../bundle/label.js';
import { publishBundle } from '../bundle/publish.js';
import { freeTimestamp } from '../bundle/timestamp.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { scanRemoteMounts, type RemoteListing } from '../sandbox/remote-scan.js';
import { Selection } from '../sandbox/selection.js';
import { remoteRootMissing, remoteTempPath, sweepRemoteTemps, withSandboxTransport } from '../sandbox/transport.js';
import { assertAgentsFound } from './agents-found.js';
import { linkSources } from './link-sources.js';
import { skipOverlongPaths } from './overlong.js';
import { RemoteBundleWriter, WITHOUT_SQLITE } from './remote-writer.js';
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

/**
 * `snapshot create` of a sandbox reached through a transport (SPEC §11): one remote scan judged by
 * the local rules before anything is transferred, unchanged files hard-linked here, only new or
 * changed ones streamed, databases through SQLite in the target. The bundle is built in
 * `<timestamp>.partial/` and published as locally; on any failure (a dropped connection included)
 * the partial dir is removed, and temp files in the target are removed by their own trap or by the
 * next command's sweep.
 */
export async function createRemoteSnapshotLocked(request: CreateSnapshotRequest, deps: EngineDeps): Promise<SnapshotSummary> {
  const entry = getSandbox(deps.layout, request.sandbox);
  return withSandboxTransport(entry, deps, (transport) => createThrough(transport, request, entry, deps));
}

async function scanRemoteSandbox(transport: Transport, request: CreateSnapshotRequest, entry: SandboxEntry, deps: EngineDeps): Promise<ScannedSandbox & { listing: RemoteListing }> {
  const manifest = loadAgentManifest(entry.agent);
  const mounts = resolveMounts(entry, manifest, deps.host.homeDir);
  const selection = new Selection(manifest, mounts, request.scope);
  deps.events.phase?.('scan');
  const { scan, listing } = await scanRemoteMounts(transport, mounts, selection, manifest.managedLinks);
  await sweepRemoteTemps(transport, entry.root, deps, listing.temps);
  if (!listing.stats.get(entry.root)?.isDirectory()) throw remoteRootMissing(entry);
  refuseUnsafeEntries(request.sandbox, scan);
  assertAgentsFound(request.scope, scan, manifest, mounts, []);
  for (const warning of scan.warnings) deps.events.warning?.(warning);
  deps.fault?.('create:scanned');
  return { entry, manifest, mounts, selection, scan, listing };
}

async function createThrough(transport: Transport, request: CreateSnapshotRequest, entry: SandboxEntry, deps: EngineDeps): Promise<SnapshotSummary> {
  const started = deps.clock();
  const sandbox = await scanRemoteSandbox(transport, request, entry, deps);
  const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
  ensureDir(sandboxDir);
  const records = listBundles(sandboxDir);
  if (request.label !== undefined) assertLabelUnused(request.label, records, request.sandbox);
  const timestamp = freeTimestamp(sandboxDir, deps.now());
  const partialDir = path.join(sandboxDir, timestamp + PARTIAL_SUFFIX);
  const totals = sandbox.scan.entries.fileTotals();
  const totalBytes = totals.bytes;
  try {
    fs.mkdirSync(partialDir, { mode: 0o700 });
    for (const warning of skipOverlongPaths(sandbox.scan, path.join(partialDir, PAYLOAD_DIR))) deps.events.warning?.(warning);
    const payload = path.join(partialDir, PAYLOAD_DIR);
    fs.mkdirSync(payload, { mode: 0o700 });
    deps.events.phase?.('copy', totals);
    const scanned = [...sandbox.scan.entries];
    const previous = linkSources(records, new Map(scanned.flatMap((e, slot) => (e.type === 'file' ? [[e.path, slot] as const] : []))), deps);
    const writer = new RemoteBundleWriter(payload, previous, sandbox.listing, transport, remoteTempPath(entry.root, deps, 'db-'), deps);
    const written = await writer.writeAll(scanned);
    const scan = sandbox.scan;
    const sink = new InventorySink(partialDir, sandbox);
    let inventory: InventorySummary;
    try {
      for (const item of written) if (item.path !== '' && !writer.vanished.has(item.path)) sink.add(item);
      inventory = sink.finish(writer);
    } finally {
      sink.close();
    }
    const origin: Record<string, string> = { via: transport.label };
    if (writer.withoutSqlite.length > 0) origin.capturedWithoutSqlite = writer.withoutSqlite.join('\n');
    const header = completeHeader({ ...draftHeader(request, sandbox, timestamp, sink.seen, deps), degraded: writer.degraded, databases: databaseRecord(writer), origin }, inventory);
    deps.events.phase?.('sync');
    const dir = publishBundle(partialDir, header, inventory, deps, 'create');
    cacheSpaceDigestQuietly(sandboxDir, timestamp, sink.digest, deps);
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
      skipped: scan.skipped.length,
      warnings: [...scan.warnings, ...writer.degraded.map((d) => `${d.path}: ${d.reason}`), ...writer.withoutSqlite.map((p) => `${p}: ${WITHOUT_SQLITE}`)],
      incomplete: bundle.failedBackupDirs.length > 0 || writer.missedDatabases.length > 0,
      degraded: writer.degraded,
      missedDatabases: writer.missedDatabases,
      durationMs: deps.clock() - started,
      via: transport.label,
      transferredBytes: sandbox.listing.transferredBytes + writer.transferredBytes,
      capturedWithoutSqlite: writer.withoutSqlite,
    };
  } catch (error) {
    fs.rmSync(partialDir, { recursive: true, force: true });
    throw asUserError(error, sandboxDir, { nothingWritten: true, needBytes: totalBytes, needInodes: sandbox.scan.entries.length + 2 });
  }
}
