import type { RemoteBundle } from '../../engine/offsite/remote.js';
import type { JsonDocument } from './document.js';
import { renderTable } from './table.js';
import { compactTimestamps, type TextView } from './terminal-text.js';

export interface RemoteSnapshotJson {
  /** vN among the repository's snapshots of the sandbox (a selector for pull and restore --repo). */
  version: number;
  shortId: string;
  timestamp: string;
  name: string | null;
  /** Always true: the row is a copy in the repository. */
  remote: true;
  /** Whether a bundle of this timestamp is on this machine too. */
  local: boolean;
  snapshotId: string;
  hostname: string;
}

export interface RemoteListDocument extends JsonDocument {
  sandbox: string;
  repo: string;
  snapshots: RemoteSnapshotJson[];
}

export interface RemoteList {
  sandbox: string;
  repo: string;
  bundles: RemoteBundle[];
  localTimestamps: Set<string>;
}

export function json(list: RemoteList): RemoteListDocument {
  return {
    schemaVersion: 1,
    sandbox: list.sandbox,
    repo: list.repo,
    snapshots: list.bundles.map((b, i) => ({
      version: i + 1, shortId: b.shortId, timestamp: b.timestamp, name: b.name, remote: true, local: list.localTimestamps.has(b.timestamp), snapshotId: b.snapshotId, hostname: b.hostname,
    })),
  };
}

export function text(list: RemoteList, view: TextView): string[] {
  if (list.bundles.length === 0) return [`repository ${list.repo} holds no snapshot of ${list.sandbox}`];
  const stamps = compactTimestamps(list.bundles.map((b) => b.timestamp), view);
  const table = renderTable(
    ['', 'Version', 'Id', 'Timestamp', 'Name', 'Here', 'From host'],
    list.bundles.map((b, i) => ['remote', `v${i + 1}`, b.shortId, stamps[i]!, b.name ?? '', list.localTimestamps.has(b.timestamp) ? 'yes' : 'no', b.hostname]),
    view,
    { shrink: { 4: 'middle', 6: 'end' } },
  );
  return [...table, `${list.bundles.length} snapshot(s) of ${list.sandbox} in repository ${list.repo}`];
}
