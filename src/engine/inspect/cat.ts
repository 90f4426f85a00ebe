import path from 'node:path';
import { NotFoundError, RefusedError } from '../../errors.js';
import { assertContentChecksum, MANIFEST_FILE, type BundleEntry } from '../../manifest/bundle-manifest.js';
import { isSqliteFile } from '../../sqlite/detect.js';
import { streamVerified } from '../bundle/checked-read.js';
import { findSnapshot } from '../bundle/find.js';
import { payloadFile } from '../bundle/payload.js';
import type { EngineDeps } from '../deps.js';
import { normaliseInsidePath } from './ls.js';
import { readInventory, snapshotRef, type SnapshotRef } from './snapshot-ref.js';

export interface CatRequest {
  sandbox: string;
  selector: string;
  path: string;
}

export interface CatOutcome {
  snapshot: SnapshotRef;
  path: string;
  bytes: number;
}

function refuseKind(entry: BundleEntry, request: CatRequest, file: string): void {
  if (entry.type === 'dir') {
    throw new RefusedError('not-a-file', `${entry.path} is a directory in the snapshot`, { hint: `\`clawback ${request.sandbox} snapshot ls ${request.selector} ${entry.path}\` lists it` });
  }
  if (entry.type === 'symlink') {
    throw new RefusedError('not-a-file', `${entry.path} is a symlink to ${entry.target ?? '?'} in the snapshot`, {
      hint: `cat the path it points to: ${path.posix.join(path.posix.dirname(entry.path), entry.target ?? '')}`,
    });
  }
  if (entry.strategy === 'sqlite_backup' || isSqliteFile(file)) {
    throw new RefusedError('sqlite-file', `${entry.path} is a SQLite database: cat does not write databases`, {
      hint: `restore it with \`clawback ${request.sandbox} snapshot restore ${request.selector} --path ${entry.path}\` (add --to-dir DIR for a copy elsewhere), or \`snapshot export\` the snapshot`,
    });
  }
}

/**
 * Writes one file of a snapshot to `write`, checked against the manifest's sha256 (small files
 * before the first byte, larger ones as they stream). Directories, symlinks and SQLite databases
 * are refused before anything is written.
 */
export function catSnapshotFile(request: CatRequest, write: (chunk: Uint8Array) => void, deps: EngineDeps): CatOutcome {
  const record = findSnapshot(request.sandbox, request.selector, deps);
  const inside = normaliseInsidePath(request.path);
  const manifest = readInventory(record);
  assertContentChecksum(manifest, path.join(record.dir, MANIFEST_FILE));
  const entry = manifest.entries.find((e) => e.path === inside);
  if (entry === undefined) {
    throw new NotFoundError('path-not-in-snapshot', `snapshot ${record.timestamp} of ${request.sandbox} holds nothing at ${inside === '' ? '/' : inside}`, {
      hint: `\`clawback ${request.sandbox} snapshot ls ${request.selector}\` lists what it holds`,
    });
  }
  const file = payloadFile(record, entry);
  refuseKind(entry, request, file);
  const bytes = streamVerified(file, entry, write);
  return { snapshot: snapshotRef(record), path: entry.path, bytes };
}
