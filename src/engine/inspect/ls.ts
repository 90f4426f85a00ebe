import { NotFoundError, UsageError } from '../../errors.js';
import type { BundleEntry, EntryType } from '../../manifest/bundle-manifest.js';
import { findSnapshot } from '../bundle/find.js';
import type { EngineDeps } from '../deps.js';
import { comparePaths, readInventory, snapshotRef, type SnapshotRef } from './snapshot-ref.js';

export interface LsRequest {
  sandbox: string;
  selector: string;
  /** A path inside the snapshot ('' or '.' for its root). */
  path?: string;
}

export interface LsEntry {
  /** Relative to the snapshot's root, as in the manifest. */
  path: string;
  /** Depth below the listed path: 0 for its direct children (or for the path itself when it is not a directory). */
  depth: number;
  type: EntryType;
  mode: number | null;
  size: number | null;
  mtimeMs: number | null;
  target: string | null;
  module: string;
  agent: string | null;
  /** 'sqlite_backup' for a database captured through SQLite's backup API. */
  strategy: string | null;
}

export interface LsResult {
  sandbox: string;
  snapshot: SnapshotRef;
  path: string;
  entries: LsEntry[];
}

/** 'workspace/', './workspace', '/workspace' → 'workspace'; '.', '' and '/' → ''. */
export function normaliseInsidePath(raw: string): string {
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new UsageError(`${JSON.stringify(raw)}: a path inside a snapshot cannot contain '..'`);
  return parts.join('/');
}

function toLsEntry(entry: BundleEntry, depth: number): LsEntry {
  return {
    path: entry.path,
    depth,
    type: entry.type,
    mode: entry.mode ?? null,
    size: entry.type === 'file' ? entry.size ?? null : null,
    mtimeMs: entry.mtimeMs ?? null,
    target: entry.target ?? null,
    module: entry.module,
    agent: entry.agent ?? null,
    strategy: entry.strategy ?? null,
  };
}

/** The inventory of a snapshot under a path, in tree order: each directory followed by what it holds. */
export function listSnapshotPath(request: LsRequest, deps: EngineDeps): LsResult {
  const record = findSnapshot(request.sandbox, request.selector, deps);
  const inside = normaliseInsidePath(request.path ?? '');
  const manifest = readInventory(record);
  const self = inside === '' ? undefined : manifest.entries.find((e) => e.path === inside);
  let entries: LsEntry[];
  if (self !== undefined && self.type !== 'dir') {
    entries = [toLsEntry(self, 0)];
  } else {
    const prefix = inside === '' ? '' : `${inside}/`;
    const base = inside === '' ? 0 : inside.split('/').length;
    entries = manifest.entries
      .filter((e) => e.path.startsWith(prefix))
      .sort((a, b) => comparePaths(a.path, b.path))
      .map((e) => toLsEntry(e, e.path.split('/').length - base - 1));
    if (self === undefined && entries.length === 0 && inside !== '') {
      throw new NotFoundError('path-not-in-snapshot', `snapshot ${record.timestamp} of ${request.sandbox} holds nothing at ${inside}`, {
        hint: `\`clawback ${request.sandbox} snapshot ls ${request.selector}\` lists what it holds; \`snapshot find GLOB\` finds a path in every snapshot`,
      });
    }
  }
  return { sandbox: request.sandbox, snapshot: snapshotRef(record), path: inside, entries };
}
