import type { SnapshotRef } from '../../engine/inspect/snapshot-ref.js';
import { bundleName } from './document.js';

/** A snapshot as the browse documents name it. */
export interface SnapshotRefJson {
  id: string;
  timestamp: string;
  name: string | null;
  version: number | null;
}

export function refJson(ref: SnapshotRef): SnapshotRefJson {
  return { id: ref.id, timestamp: ref.timestamp, name: ref.name, version: ref.version };
}

export function refText(ref: SnapshotRef): string {
  return bundleName(ref);
}

/** `2026-04-21 14:11` (UTC): a file time at a glance. */
export function shortTime(ms: number | null): string {
  if (ms === null) return '-';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
