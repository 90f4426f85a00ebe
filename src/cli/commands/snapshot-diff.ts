import type { Command } from 'commander';
import type { DiffItem, DiffSide, DiffState, DiffSummary } from '../../engine/inspect/diff.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes } from '../present/format.js';

function sideLabel(side: DiffSide): string {
  if (side.kind === 'live') return `the live state (${side.root})`;
  return `${side.version !== null ? `v${side.version} ` : ''}${side.id}${side.name ? ` "${side.name}"` : ''}`;
}

function shown(item: DiffItem): string {
  const type = (item.after ?? item.before)?.type;
  return type === 'dir' ? `${item.path}/` : item.path;
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
  if (changes.includes('target')) parts.push(`→ ${JSON.stringify(before?.target)} now → ${JSON.stringify(after?.target)}`);
  if (changes.includes('mode')) parts.push(`mode ${octal(before?.mode ?? null)} → ${octal(after?.mode ?? null)}`);
  const letter = changes.includes('content') || changes.includes('target') ? 'M' : 'U';
  return `${letter} ${shown(item)}  (${parts.join(', ')})`;
}

function diffLines(summary: DiffSummary): string[] {
  const t = summary.totals;
  const lines = [`comparing ${sideLabel(summary.from)} → ${sideLabel(summary.to)}`];
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
  return lines;
}

export function registerSnapshotDiff(program: Command, act: Act): void {
  program
    .command('snapshot-diff <sandbox> <from> [to]', { hidden: true })
    .description('added, removed and changed paths between two snapshots, or a snapshot and the live state')
    .action(
      act(async (ctx, sandbox: string, from: string, to: string | undefined) => {
        const { diffSnapshots } = await import('../../engine/inspect/diff.js');
        const summary = await diffSnapshots({ sandbox, from, ...(to !== undefined ? { to } : {}) }, ctx.deps);
        emit(ctx, { ...summary }, () => diffLines(summary));
      }),
    );
}
