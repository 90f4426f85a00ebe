import type { MergeOutcome } from '../../engine/restore/stage.js';
import type { Confirmation, PlanCounts, RestoreSummary } from '../../engine/restore/restore.js';
import type { ConfirmRequest } from '../confirm.js';
import type { JsonDocument } from './document.js';
import { scopeJson, scopeText, type ScopeJson } from './scope.js';
import { formatDurationMs } from './format.js';
import { renderTable } from './table.js';
import { columnsOf, printable, truncateMiddle, wrapLines, type TextView } from './terminal-text.js';

export interface PlanCountsJson {
  replaced: number;
  unchanged: number;
  added: number;
  removed: number;
  kept: number;
}

export interface MergeJson {
  path: string;
  /** rewritten: the merged text is neither side's verbatim, so comments and layout were not kept. */
  report: { fromLive: string[]; fromSnapshot: string[]; skipped: string[]; rewritten: boolean; outsideIncludes: string[] };
}

/** Paths kept as they are, counted by why (excluded, machine_local, …); reasons with none are absent. */
export type KeptReasonsJson = Record<string, number>;

export interface RestoreJson {
  sandbox: string;
  target: string;
  dryRun: boolean;
  /** `scope.full` false: a partial snapshot, of which only what it holds was restored. */
  bundle: { timestamp: string; shortId: string; name: string | null; version: number | null; dir: string; scope: ScopeJson };
  dirs: string[];
  counts: PlanCountsJson;
  keptReasons: KeptReasonsJson;
  paths: { replaced: string[]; unchanged: string[]; added: string[]; removed: string[]; kept: string[] };
  databases: string[];
  merges: MergeJson[];
  preRestore: { selector: string; shortId: string; timestamp: string; dir: string; undo: string } | null;
  registered: boolean;
  policy: { presetsAdded: string[]; presetsRemoved: string[]; customAdded: string[]; customRemoved: string[]; customChanged: string[]; changed: boolean };
  restart: string | null;
  warnings: string[];
  durationMs: number;
}

export interface RestoreDocument extends JsonDocument {
  restore: RestoreJson;
}

export const countsJson = (c: PlanCounts): PlanCountsJson => ({ replaced: c.replaced, unchanged: c.unchanged, added: c.added, removed: c.removed, kept: c.kept });
export const mergeJson = (m: MergeOutcome): MergeJson => ({
  path: m.path,
  report: { fromLive: [...m.report.fromLive], fromSnapshot: [...m.report.fromSnapshot], skipped: [...m.report.skipped], rewritten: m.report.rewritten, outsideIncludes: [...m.report.outsideIncludes] },
});

/** What a merge could not carry over: the comments of a file written anew, and `$include`s it never read. */
export function mergeLosses(m: MergeOutcome): string[] {
  const notes: string[] = [];
  if (m.report.rewritten) notes.push('written anew, so its comments and layout were not kept');
  if (m.report.outsideIncludes.length) notes.push(`$include outside the state root, not restored: ${m.report.outsideIncludes.join(', ')}`);
  return notes;
}

export function keptReasonsJson(reasons: Partial<Record<string, number>>): KeptReasonsJson {
  const out: KeptReasonsJson = {};
  for (const [reason, n] of Object.entries(reasons)) if (n !== undefined) out[reason] = n;
  return out;
}

export function json(s: RestoreSummary): RestoreDocument {
  const { bundle: b, paths: p, policy: q, preRestore: pre } = s;
  return {
    schemaVersion: 1,
    restore: {
      sandbox: s.sandbox,
      target: s.target,
      dryRun: s.dryRun,
      bundle: { timestamp: b.timestamp, shortId: b.shortId, name: b.name, version: b.version, dir: b.dir, scope: scopeJson(b.scope) },
      dirs: [...s.dirs],
      counts: countsJson(s.counts),
      keptReasons: keptReasonsJson(s.keptReasons),
      paths: { replaced: [...p.replaced], unchanged: [...p.unchanged], added: [...p.added], removed: [...p.removed], kept: [...p.kept] },
      databases: [...s.databases],
      merges: s.merges.map(mergeJson),
      preRestore: pre === null ? null : { selector: pre.selector, shortId: pre.shortId, timestamp: pre.timestamp, dir: pre.dir, undo: pre.undo },
      registered: s.registered,
      policy: { presetsAdded: [...q.presetsAdded], presetsRemoved: [...q.presetsRemoved], customAdded: [...q.customAdded], customRemoved: [...q.customRemoved], customChanged: [...q.customChanged], changed: q.changed },
      restart: s.restart,
      warnings: [...s.warnings],
      durationMs: s.durationMs,
    },
  };
}

const SHOWN_PATHS = 3;
const CHANGES = ['replaced', 'added', 'removed', 'unchanged', 'kept'] as const;

/**
 * A few paths of each kind and how many more: under --wide up to three whole paths; in a width,
 * as many whole paths as fit in `room` (at least one, shortened in the middle if it must be).
 */
function pathsCell(paths: string[], count: number, room: number | undefined): string {
  const more = (shown: number): string => (count > shown ? ` (+${count - shown} more)` : '');
  const names = paths.slice(0, SHOWN_PATHS).map(printable);
  if (room === undefined) return names.join(', ') + more(names.length);
  let shown = 0;
  while (shown < names.length && columnsOf(names.slice(0, shown + 1).join(', ') + more(shown + 1)) <= room) shown++;
  if (shown > 0 || names.length === 0) return names.slice(0, shown).join(', ') + more(shown);
  return truncateMiddle(names[0]!, Math.max(room - columnsOf(more(1)), 8)) + more(1);
}

function planTable(summary: RestoreSummary, view: TextView): string[] {
  const countWidth = Math.max('Count'.length, ...CHANGES.map((key) => String(summary.counts[key]).length));
  const room = view.width === undefined ? undefined : view.width - 'unchanged'.length - countWidth - 4;
  const rows = CHANGES.map((key) => [key, summary.counts[key], pathsCell(summary.paths[key], summary.counts[key], room)]);
  return renderTable(['Change', 'Count', 'Paths'], rows, view, { shrink: { 2: 'middle' } });
}

function keptLine(summary: RestoreSummary): string | undefined {
  const parts = Object.entries(summary.keptReasons)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([reason, n]) => `${n} ${reason.replace(/_/g, '-')}`);
  return parts.length > 0 ? `  kept as they are: ${parts.join(', ')}` : undefined;
}

function policyLine(summary: RestoreSummary): string | undefined {
  const p = summary.policy;
  if (!p.changed) return undefined;
  const parts: string[] = [];
  if (p.presetsAdded.length) parts.push(`presets +${p.presetsAdded.join(', +')}`);
  if (p.presetsRemoved.length) parts.push(`presets -${p.presetsRemoved.join(', -')}`);
  if (p.customAdded.length) parts.push(`custom +${p.customAdded.join(', +')}`);
  if (p.customRemoved.length) parts.push(`custom -${p.customRemoved.join(', -')}`);
  if (p.customChanged.length) parts.push(`custom changed ${p.customChanged.join(', ')}`);
  return `  policy metadata ${summary.dryRun ? 'would change' : 'changed'}: ${parts.join('; ')}`;
}

/** A restore that found every path as the snapshot has it (it took no pre-restore snapshot). */
function identical(summary: RestoreSummary): boolean {
  const { replaced, added, removed } = summary.counts;
  return !summary.dryRun && !summary.registered && !summary.policy.changed && replaced + added + removed === 0;
}

function headLine(summary: RestoreSummary): string {
  const source = `v${summary.bundle.version ?? '?'} ${summary.bundle.shortId} (${summary.bundle.name ?? summary.bundle.timestamp})`;
  const into = summary.target === summary.sandbox ? summary.sandbox : `${summary.target}${summary.registered ? ' (new sandbox)' : ''}`;
  if (identical(summary)) return `✓ ${into} is already identical to ${summary.sandbox} ${source}: nothing changed, no pre-restore snapshot needed`;
  return summary.dryRun
    ? `dry run: restoring ${summary.sandbox} ${source} into ${into} would change ${summary.dirs.join(', ')}; every file checked against the manifest`
    : `✓ restored ${summary.sandbox} ${source} into ${into} (${summary.dirs.join(', ')}) in ${formatDurationMs(summary.durationMs)}`;
}

export function text(summary: RestoreSummary, view: TextView): string[] {
  const lines: string[] = [headLine(summary)];
  if (!summary.bundle.scope.full) lines.push(`  from a partial snapshot (${scopeText(summary.bundle.scope)}): only what it holds was ${summary.dryRun ? 'checked' : 'restored'}; everything else is as it was`);
  lines.push(...planTable(summary, view));
  const kept = keptLine(summary);
  if (kept) lines.push(kept);
  if (summary.databases.length) lines.push(`  SQLite through the backup API: ${summary.databases.join(', ')}`);
  for (const merge of summary.merges) {
    const live = merge.report.fromLive.length ? [`kept from live: ${merge.report.fromLive.join(', ')}`] : [];
    lines.push(`  config merged: ${[merge.path, ...live, ...mergeLosses(merge)].join('; ')}`);
  }
  const policy = policyLine(summary);
  if (policy) lines.push(policy);
  if (summary.preRestore) lines.push(`  undo with: ${summary.preRestore.undo}`);
  else if (!summary.dryRun && !summary.registered && !identical(summary)) lines.push('  no pre-restore snapshot was taken');
  if (summary.restart) lines.push(`  next: ${summary.restart}`);
  return wrapLines(lines, view);
}

/** The question a restore asks, from the engine's facts. */
export function confirmation(facts: Confirmation): ConfirmRequest {
  const refusing = `restoring over ${facts.name}`;
  if (facts.kind === 'replace-other') return { question: `this replaces the state of ${facts.name} in ${facts.root}.`, typed: facts.name, refusing };
  return { question: `restore over ${facts.root} without a pre-restore snapshot? The current state cannot be recovered afterwards`, refusing };
}
