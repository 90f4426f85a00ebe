import fs from 'node:fs';
import path from 'node:path';
import { asUserError } from '../../errors.js';
import { PAYLOAD_DIR, type QuickCheckedCopy, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { ensureDir } from '../../store/atomic.js';
import { listBundles, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import type { InventorySummary } from '../../store/inventory-writer.js';
import { shortIdOf } from '../../store/short-id.js';
import { completeHeader } from '../bundle/complete-manifest.js';
import { assertLabelUnused } from '../bundle/label.js';
import { freeTimestamp } from '../bundle/timestamp.js';
import type { EngineDeps } from '../deps.js';
import { skipOverlongPaths } from './overlong.js';
import {
  cacheSpaceDigestQuietly,
  databaseRecord,
  quickCheckedRecord,
  draftHeader,
  type CreateSnapshotRequest,
  type InventorySink,
  type ScannedSandbox,
  type SnapshotSummary,
} from './snapshot-parts.js';

/** What writing a payload (locally or through a transport) hands back to the frame. */
export interface WrittenPayload {
  writer: { linked: number; copied: number; copiedBytes: number; databases: string[]; quickChecked: QuickCheckedCopy[]; degraded: SkippedEntry[]; missedDatabases: SkippedEntry[] };
  inventory: InventorySummary;
  sink: InventorySink;
  /** Where the snapshot came from, for the header (a transport's label). */
  origin?: Record<string, string>;
  /** Warnings of the writer's own, after the scan's and the degraded files'. */
  warnings?: string[];
}

/**
 * The publishing half of the frame (and node:child_process under it, for `sync -f`) is loaded once
 * the payload is written, or earlier through `preloadPublishing` when this thread has nothing else to
 * do (a database's copy hashing on a worker): it is not in the way of the payload's first copy.
 */
let publishing: Promise<typeof import('../bundle/publish.js')> | undefined;
export function preloadPublishing(): Promise<typeof import('../bundle/publish.js')> {
  return (publishing ??= import('../bundle/publish.js'));
}

/**
 * The frame every snapshot shares, whatever writes its payload: a free timestamp, the
 * `<timestamp>.partial/` dir with overlong paths skipped, the payload (`write`), the header
 * completed, the bundle published, its space digest cached, and the summary. On any failure the
 * partial dir is removed and the error told as the user's to fix where it is.
 */
export async function publishSnapshot(
  request: CreateSnapshotRequest,
  sandbox: ScannedSandbox,
  started: number,
  deps: EngineDeps,
  write: (partialDir: string, records: BundleRecord[]) => Promise<WrittenPayload>,
): Promise<SnapshotSummary> {
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
    const { writer, inventory, sink, origin, warnings = [] } = await write(partialDir, records);
    const draft = { ...draftHeader(request, sandbox, timestamp, sink.seen, deps), degraded: writer.degraded, databases: databaseRecord(writer), quickCheckedDatabases: quickCheckedRecord(writer), ...(origin !== undefined ? { origin } : {}) };
    const header = completeHeader(draft, inventory);
    const { publishBundle } = await preloadPublishing();
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
      warnings: [...sandbox.scan.warnings, ...writer.degraded.map((d) => `${d.path}: ${d.reason}`), ...warnings],
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
