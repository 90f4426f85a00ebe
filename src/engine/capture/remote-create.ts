import fs from 'node:fs';
import path from 'node:path';
import { PAYLOAD_DIR } from '../../manifest/bundle-manifest.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import type { Transport } from '../../transport/index.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { scanRemoteMounts, type RemoteListing } from '../sandbox/remote-scan.js';
import { Selection } from '../sandbox/selection.js';
import { remoteRootMissing, remoteTempPath, sweepRemoteTemps, withSandboxTransport } from '../sandbox/transport.js';
import { assertAgentsFound } from './agents-found.js';
import { linkSources } from './link-sources.js';
import { publishSnapshot } from './publish-snapshot.js';
import { RemoteBundleWriter, WITHOUT_SQLITE } from './remote-writer.js';
import {
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
  let writer: RemoteBundleWriter | undefined;
  const summary = await publishSnapshot(request, sandbox, started, deps, async (partialDir, records) => {
    const payload = path.join(partialDir, PAYLOAD_DIR);
    fs.mkdirSync(payload, { mode: 0o700 });
    deps.events.phase?.('copy', sandbox.scan.entries.fileTotals());
    const scanned = [...sandbox.scan.entries];
    const previous = linkSources(records, new Map(scanned.flatMap((e, slot) => (e.type === 'file' ? [[e.path, slot] as const] : []))), deps);
    const written = new RemoteBundleWriter(payload, previous, sandbox.listing, transport, remoteTempPath(entry.root, deps, 'db-'), deps);
    writer = written;
    const entries = await written.writeAll(scanned);
    const sink = new InventorySink(partialDir, sandbox);
    try {
      for (const item of entries) if (item.path !== '' && !written.vanished.has(item.path)) sink.add(item);
      const inventory = sink.finish(written);
      const origin: Record<string, string> = { via: transport.label };
      if (written.withoutSqlite.length > 0) origin.capturedWithoutSqlite = written.withoutSqlite.join('\n');
      return { writer: written, inventory, sink, origin, warnings: written.withoutSqlite.map((p) => `${p}: ${WITHOUT_SQLITE}`) };
    } finally {
      sink.close();
    }
  });
  return {
    ...summary,
    via: transport.label,
    transferredBytes: sandbox.listing.transferredBytes + (writer?.transferredBytes ?? 0),
    capturedWithoutSqlite: writer?.withoutSqlite ?? [],
  };
}
