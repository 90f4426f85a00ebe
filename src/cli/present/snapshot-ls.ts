import type { LsEntry, LsResult } from '../../engine/inspect/ls.js';
import { refJson, refText, shortTime, type SnapshotRefJson } from './browse.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { printable } from './terminal-text.js';

export interface LsEntryJson {
  /** Relative to the snapshot's root; bytes that are not UTF-8 as \udcXX escapes, as in every document. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number | null;
  size: number | null;
  /** ISO time, or null when the manifest has none. */
  mtime: string | null;
  target: string | null;
  module: string;
  agent: string | null;
  strategy: string | null;
}

export interface LsDocument extends JsonDocument {
  sandbox: string;
  snapshot: SnapshotRefJson;
  path: string;
  entries: LsEntryJson[];
}

export function json(result: LsResult): LsDocument {
  return {
    schemaVersion: 1,
    sandbox: result.sandbox,
    snapshot: refJson(result.snapshot),
    path: result.path,
    entries: result.entries.map((e) => ({
      path: e.path,
      type: e.type,
      mode: e.mode,
      size: e.size,
      mtime: e.mtimeMs === null ? null : new Date(e.mtimeMs).toISOString(),
      target: e.target,
      module: e.module,
      agent: e.agent,
      strategy: e.strategy,
    })),
  };
}

const TYPE_CHAR = { file: '-', dir: 'd', symlink: 'l' } as const;

/** `drwx------`, `-rw-r--r--`: the mode as ls shows it. */
export function modeString(entry: Pick<LsEntry, 'type' | 'mode'>): string {
  const bits = entry.type === 'symlink' ? 0o777 : entry.mode ?? 0;
  let out: string = TYPE_CHAR[entry.type];
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (bits >> shift) & 7;
    out += (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-');
  }
  return out;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function treeLine(e: LsEntry): string {
  const indent = '  '.repeat(Math.max(e.depth, 0));
  const name = printable(baseName(e.path));
  if (e.type === 'dir') return `${indent}${name}/`;
  if (e.type === 'symlink') return `${indent}${name} -> ${printable(e.target ?? '?')}`;
  return `${indent}${name}  ${formatBytes(e.size ?? 0)}${e.strategy === 'sqlite_backup' ? '  (SQLite)' : ''}`;
}

function longLine(e: LsEntry, width: number): string {
  const size = e.type === 'file' ? String(e.size ?? 0) : '-';
  return `${modeString(e)}  ${size.padStart(width)}  ${shortTime(e.mtimeMs)}  ${printable(e.path)}${e.type === 'dir' ? '/' : ''}${e.type === 'symlink' ? ` -> ${printable(e.target ?? '?')}` : ''}`;
}

/** A tree of names by default; `long`: one line per entry with mode, size in bytes, mtime (UTC) and path. */
export function text(result: LsResult, long: boolean): string[] {
  const head = `${refText(result.snapshot)}: ${result.path === '' ? '/' : result.path}`;
  if (result.entries.length === 0) return [head, '(empty)'];
  if (long) {
    const width = Math.max(...result.entries.map((e) => String(e.size ?? '-').length));
    return [head, ...result.entries.map((e) => longLine(e, width))];
  }
  return [head, ...result.entries.map(treeLine)];
}
