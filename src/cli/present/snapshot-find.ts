import type { FindResult } from '../../engine/inspect/find.js';
import { refJson, refText, type SnapshotRefJson } from './browse.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { printable } from './terminal-text.js';

export interface FindHitJson {
  sandbox: string;
  snapshot: SnapshotRefJson;
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number | null;
  sha256: string | null;
  /** Against the next older snapshot of the same sandbox that holds the path. */
  change: 'new' | 'changed' | 'same';
}

export interface FindDocument extends JsonDocument {
  glob: string;
  hits: FindHitJson[];
  unreadable: Array<{ sandbox: string; id: string; problem: string }>;
}

export function json(result: FindResult): FindDocument {
  return {
    schemaVersion: 1,
    glob: result.glob,
    hits: result.hits.map((h) => ({ sandbox: h.sandbox, snapshot: refJson(h.snapshot), path: h.path, type: h.type, size: h.size, sha256: h.sha256, change: h.change })),
    unreadable: result.unreadable.map((u) => ({ ...u })),
  };
}

/** One line per hit, newest first: snapshot, size, change, path (last, so a long one does not push the rest away). */
export function text(result: FindResult, manySandboxes: boolean): string[] {
  const where = (h: FindResult['hits'][number]): string => `${manySandboxes ? `${h.sandbox} ` : ''}${refText(h.snapshot)}`;
  const width = Math.max(0, ...result.hits.map((h) => where(h).length));
  const lines = result.hits.map((h) => {
    const size = h.type === 'file' ? formatBytes(h.size ?? 0) : h.type;
    return `${where(h).padEnd(width)}  ${size.padStart(9)}  ${h.change.padEnd(7)}  ${printable(h.path)}${h.type === 'dir' ? '/' : ''}`;
  });
  if (lines.length === 0) lines.push(`no snapshot holds a path matching ${result.glob}`);
  for (const u of result.unreadable) lines.push(`not searched: ${u.sandbox} ${u.id}: ${u.problem}`);
  return lines;
}
