import { listBundles, type BundleRecord } from '../store/bundles.js';
import { sandboxBundleDir } from '../store/home.js';
import { getSandbox } from '../store/registry.js';
import { resolveSelector } from '../store/selector.js';
import type { EngineDeps } from './deps.js';

export interface SnapshotRow {
  version: number | null;
  id: string;
  name: string | null;
  timestamp: string;
  state: 'complete' | 'partial' | 'corrupt';
  files: number | null;
  bytes: number | null;
  path: string;
  problem: string | null;
}

function toRow(record: BundleRecord): SnapshotRow {
  return {
    version: record.version ?? null,
    id: record.id,
    name: record.header?.name ?? null,
    timestamp: record.timestamp,
    state: record.state,
    files: record.header?.totals.files ?? null,
    bytes: record.header?.totals.bytes ?? null,
    path: record.dir,
    problem: record.problem?.message ?? null,
  };
}

export function sandboxRecords(sandbox: string, deps: EngineDeps): BundleRecord[] {
  getSandbox(deps.layout, sandbox);
  return listBundles(sandboxBundleDir(deps.layout, sandbox));
}

export function listSnapshots(sandbox: string, deps: EngineDeps): SnapshotRow[] {
  return sandboxRecords(sandbox, deps).map(toRow);
}

export function findSnapshot(sandbox: string, selector: string, deps: EngineDeps): BundleRecord {
  return resolveSelector(sandboxRecords(sandbox, deps), selector, sandbox);
}
