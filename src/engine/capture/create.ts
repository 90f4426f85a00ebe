import fs from 'node:fs';
import path from 'node:path';
import { asUserError, NotFoundError, RefusedError } from '../../errors.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import { PAYLOAD_DIR, type BundleEntry, type BundleMount, type DatabaseRecord, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { ensureDir } from '../../store/atomic.js';
import { listBundles, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import { shortIdOf } from '../../store/short-id.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { completeManifest, type ManifestDraft } from '../bundle/complete-manifest.js';
import { assertLabelUnused, validateLabel } from '../bundle/label.js';
import { publishBundle } from '../bundle/publish.js';
import { cacheSpaceDigest } from '../bundle/space.js';
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
import { createRemoteSnapshotLocked } from './remote-create.js';
import { isRemoteSandbox } from '../sandbox/transport.js';

export type { CreateSnapshotRequest, SnapshotSummary } from './snapshot-parts.js';
import { cacheSpaceDigestQuietly, databaseRecord, draftManifest, refuseUnsafeEntries, type CreateSnapshotRequest, type ScannedSandbox, type SnapshotSummary } from './snapshot-parts.js';

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
  const totalBytes = sandbox.scan.entries.reduce((sum, e) => sum + (e.type === 'file' ? e.stat.size : 0), 0);
  try {
    fs.mkdirSync(partialDir, { mode: 0o700 });
    for (const warning of skipOverlongPaths(sandbox.scan, path.join(partialDir, PAYLOAD_DIR))) deps.events.warning?.(warning);
    const { writer, entries } = await writePayload(partialDir, sandbox.scan, records, deps);
    const bundle = completeManifest({ ...draftManifest(request, sandbox, timestamp, entries, deps), degraded: writer.degraded, databases: databaseRecord(writer) });
    deps.events.phase?.('sync');
    const dir = publishBundle(partialDir, bundle, deps, 'create');
    cacheSpaceDigestQuietly(sandboxDir, timestamp, bundle.entries, deps);
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

/** Writes the payload, linking unchanged files from earlier bundles; what could not be read joins the scan's skipped list. */
async function writePayload(partialDir: string, scan: ScanResult, records: BundleRecord[], deps: EngineDeps): Promise<{ writer: BundleWriter; entries: BundleEntry[] }> {
  const payload = path.join(partialDir, PAYLOAD_DIR);
  fs.mkdirSync(payload, { mode: 0o700 });
  const files = scan.entries.filter((e) => e.type === 'file');
  deps.events.phase?.('copy', { files: files.length, bytes: files.reduce((sum, e) => sum + e.stat.size, 0) });
  const writer = new BundleWriter(payload, linkSources(records, new Set(files.map((e) => e.path)), deps), deps);
  const written = await writer.writeAll(scan.entries);
  scan.skipped.push(...writer.unreadable, ...writer.missedDatabases);
  const accounted = new Set([...writer.unreadable, ...writer.missedDatabases].map((u) => u.path));
  for (const vanished of writer.vanished) {
    if (!accounted.has(vanished)) scan.skipped.push({ path: vanished, reason: 'vanished during the snapshot' });
  }
  return { writer, entries: written.filter((e) => e.path !== '' && !writer.vanished.has(e.path)) };
}

