import type { DiffItem, DiffSide, DiffState, DiffSummary } from '../../engine/inspect/diff.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { printable, wrapLines, type TextView } from './terminal-text.js';

export interface DiffSideJson {
  kind: 'snapshot' | 'live';
  id: string | null;
  version: number | null;
  name: string | null;
  root: string | null;
}

export interface DiffStateJson {
  type: 'file' | 'dir' | 'symlink';
  size: number | null;
  mode: number | null;
  target: string | null;
}

export interface DiffItemJson {
  path: string;
  before: DiffStateJson | null;
  after: DiffStateJson | null;
  changes: Array<'content' | 'mode' | 'target' | 'type'>;
}

export interface DiffDocument extends JsonDocument {
  sandbox: string;
  from: DiffSideJson;
  to: DiffSideJson;
  added: DiffItemJson[];
  removed: DiffItemJson[];
  changed: DiffItemJson[];
  totals: {
    added: { files: number; bytes: number };
    removed: { files: number; bytes: number };
    changed: { files: number; bytesBefore: number; bytesAfter: number };
  };
  hashedFiles: number;
}

const sideJson = (s: DiffSide): DiffSideJson => ({ kind: s.kind, id: s.id, version: s.version, name: s.name, root: s.root });
const stateJson = (s: DiffState | null): DiffStateJson | null => (s === null ? null : { type: s.type, size: s.size, mode: s.mode, target: s.target });
const itemJson = (i: DiffItem): DiffItemJson => ({ path: i.path, before: stateJson(i.before), after: stateJson(i.after), changes: [...i.changes] });

export function json(s: DiffSummary): DiffDocument {
  const t = s.totals;
  return {
    schemaVersion: 1,
    sandbox: s.sandbox,
    from: sideJson(s.from),
    to: sideJson(s.to),
    added: s.added.map(itemJson),
    removed: s.removed.map(itemJson),
    changed: s.changed.map(itemJson),
    totals: {
      added: { files: t.added.files, bytes: t.added.bytes },
      removed: { files: t.removed.files, bytes: t.removed.bytes },
      changed: { files: t.changed.files, bytesBefore: t.changed.bytesBefore, bytesAfter: t.changed.bytesAfter },
    },
    hashedFiles: s.hashedFiles,
  };
}

function sideLabel(side: DiffSide): string {
  if (side.kind === 'live') return `the live state (${side.root})`;
  return `${side.version !== null ? `v${side.version} ` : ''}${side.id}${side.name ? ` "${side.name}"` : ''}`;
}

/** One path per line, whatever its bytes: a newline or control character in a name is escaped. */
function shown(item: DiffItem): string {
  const type = (item.after ?? item.before)?.type;
  return printable(type === 'dir' ? `${item.path}/` : item.path);
}

function sizeOf(state: DiffState | null): string {
  return state?.type === 'file' && state.size !== null ? formatBytes(state.size) : '';
}

function octal(mode: number | null): string {
  return mode === null ? '?' : mode.toString(8).padStart(3, '0');
}

/** restic's letters: + added, - removed, M content, T type, U metadata (mode); a retargeted link counts as content. */
function changedLine(item: DiffItem): string {
  const { before, after, changes } = item;
  if (changes.includes('type')) return `T ${shown(item)}  (${before?.type} → ${after?.type})`;
  const parts: string[] = [];
  if (changes.includes('content')) parts.push(`${sizeOf(before)} → ${sizeOf(after)}`);
  if (changes.includes('target')) parts.push(`→ ${printable(JSON.stringify(before?.target))} now → ${printable(JSON.stringify(after?.target))}`);
  if (changes.includes('mode')) parts.push(`mode ${octal(before?.mode ?? null)} → ${octal(after?.mode ?? null)}`);
  const letter = changes.includes('content') || changes.includes('target') ? 'M' : 'U';
  return `${letter} ${shown(item)}  (${parts.join(', ')})`;
}

/** One line per path (a long one wrapped to the view, never broken by its name), sorted, then the totals. */
export function text(summary: DiffSummary, view: TextView): string[] {
  const t = summary.totals;
  const lines = [`comparing ${printable(sideLabel(summary.from))} → ${printable(sideLabel(summary.to))}`];
  const all = [
    ...summary.added.map((i) => ({ path: i.path, line: `+ ${shown(i)}${sizeOf(i.after) ? `  (${sizeOf(i.after)})` : ''}` })),
    ...summary.removed.map((i) => ({ path: i.path, line: `- ${shown(i)}${sizeOf(i.before) ? `  (${sizeOf(i.before)})` : ''}` })),
    ...summary.changed.map((i) => ({ path: i.path, line: changedLine(i) })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (all.length === 0) lines.push('no differences');
  for (const item of all) lines.push(item.line);
  lines.push(
    `${summary.added.length} added (${t.added.files} files, ${formatBytes(t.added.bytes)}), ` +
      `${summary.removed.length} removed (${t.removed.files} files, ${formatBytes(t.removed.bytes)}), ` +
      `${summary.changed.length} changed (${formatBytes(t.changed.bytesBefore)} → ${formatBytes(t.changed.bytesAfter)})`,
  );
  return wrapLines(lines, view);
}
