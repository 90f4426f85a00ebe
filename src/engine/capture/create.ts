import fs from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../../errors.js';
import { PAYLOAD_DIR } from '../../manifest/bundle-manifest.js';
import type { BundleRecord } from '../../store/bundles.js';
import { getSandbox } from '../../store/registry.js';
import { validateLabel } from '../bundle/label.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { sandboxLock } from '../sandbox/lock.js';
import { Selection } from '../sandbox/selection.js';
import { BundleWriter } from './bundle-writer.js';
import { preloadPublishing, publishSnapshot, type WrittenPayload } from './publish-snapshot.js';
import { linkSources } from './link-sources.js';
import { scanMounts } from '../sandbox/scan.js';
import { assertAgentsFound } from './agents-found.js';
import {
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
  const entry = getSandbox(deps.layout, request.sandbox);
  // The transport modules (and node:child_process under them) load only for a sandbox with a `--via`:
  // a local snapshot reaches its first copy ~15 ms sooner without them.
  if (entry.via !== undefined) {
    const { isRemoteSandbox } = await import('../sandbox/transport.js');
    if (isRemoteSandbox(entry)) {
      const { createRemoteSnapshotLocked } = await import('./remote-create.js');
      return createRemoteSnapshotLocked(request, deps);
    }
  }
  const started = deps.clock();
  const sandbox = scanSandbox(request, deps);
  return publishSnapshot(request, sandbox, started, deps, (partialDir, records) => writePayload(partialDir, sandbox, records, deps));
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
): Promise<WrittenPayload> {
  const { scan } = sandbox;
  const payload = path.join(partialDir, PAYLOAD_DIR);
  fs.mkdirSync(payload, { mode: 0o700 });
  // A file's slot is its index in the scan.
  const wanted = new Map<string, number>();
  for (let i = 0; i < scan.entries.length; i++) if (scan.entries.type(i) === 'file') wanted.set(scan.entries.path(i), i);
  deps.events.phase?.('copy', scan.entries.fileTotals());
  // While a large database's copy is checked and hashed, the publishing modules load (a failure to load shows when they are awaited).
  const writer = new BundleWriter(payload, linkSources(records, wanted, deps), deps, () => void preloadPublishing().catch(() => undefined));
  wanted.clear();
  const sink = new InventorySink(partialDir, sandbox);
  try {
    await writer.writeAll(scan.entries, (entry) => sink.add(entry));
    return { writer, inventory: sink.finish(writer), sink };
  } finally {
    sink.close();
  }
}
