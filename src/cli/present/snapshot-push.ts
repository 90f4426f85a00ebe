import type { PushSummary } from '../../engine/offsite/push.js';
import type { PullSummary } from '../../engine/offsite/pull.js';
import type { JsonDocument } from './document.js';
import { formatBytes, formatDurationMs } from './format.js';

export interface PushedJson {
  timestamp: string;
  shortId: string;
  name: string | null;
  status: 'pushed' | 'present';
  snapshotId: string;
  dataAdded: number | null;
  filesNew: number | null;
  filesChanged: number | null;
  filesUnmodified: number | null;
  durationMs: number;
}

export interface PushDocument extends JsonDocument {
  sandbox: string;
  repo: string;
  bundles: PushedJson[];
  pushed: number;
  present: number;
}

export interface PulledJson {
  timestamp: string;
  shortId: string;
  name: string | null;
  status: 'pulled' | 'present';
  snapshotId: string;
  files: number;
  bytes: number;
  path: string;
  durationMs: number;
}

export interface PullDocument extends JsonDocument {
  sandbox: string;
  repo: string;
  bundles: PulledJson[];
  pulled: number;
  present: number;
}

export function pushJson(s: PushSummary): PushDocument {
  return {
    schemaVersion: 1,
    sandbox: s.sandbox,
    repo: s.repo,
    bundles: s.bundles.map((b) => ({
      timestamp: b.timestamp, shortId: b.shortId, name: b.name, status: b.status, snapshotId: b.snapshotId, dataAdded: b.dataAdded,
      filesNew: b.filesNew, filesChanged: b.filesChanged, filesUnmodified: b.filesUnmodified, durationMs: b.durationMs,
    })),
    pushed: s.pushed,
    present: s.present,
  };
}

export function pullJson(s: PullSummary): PullDocument {
  return {
    schemaVersion: 1,
    sandbox: s.sandbox,
    repo: s.repo,
    bundles: s.bundles.map((b) => ({
      timestamp: b.timestamp, shortId: b.shortId, name: b.name, status: b.status, snapshotId: b.snapshotId, files: b.files, bytes: b.bytes, path: b.dir, durationMs: b.durationMs,
    })),
    pulled: s.pulled,
    present: s.present,
  };
}

const named = (b: { shortId: string; timestamp: string; name: string | null }): string => `${b.shortId} ${b.timestamp}${b.name ? ` "${b.name}"` : ''}`;

export function pushText(s: PushSummary): string[] {
  const lines = s.bundles.map((b) =>
    b.status === 'present'
      ? `${named(b)}: already in ${s.repo} (restic ${b.snapshotId.slice(0, 8)})`
      : `${named(b)}: pushed to ${s.repo} as restic ${b.snapshotId.slice(0, 8)}, ${formatBytes(b.dataAdded ?? 0)} added (${b.filesNew ?? 0} new, ${b.filesChanged ?? 0} changed, ${b.filesUnmodified ?? 0} unchanged files) in ${formatDurationMs(b.durationMs)}`,
  );
  return [...lines, `${s.pushed} pushed, ${s.present} already in the repository`];
}

export function pullText(s: PullSummary): string[] {
  const lines = s.bundles.map((b) =>
    b.status === 'present' ? `${named(b)}: already here` : `${named(b)}: pulled from ${s.repo} and verified (${b.files} files, ${formatBytes(b.bytes)}) in ${formatDurationMs(b.durationMs)}`,
  );
  return [...lines, `${s.pulled} pulled, ${s.present} already here`];
}
