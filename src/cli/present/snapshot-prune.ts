import type { PruneDecision, PruneSummary } from '../../engine/retention/prune.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { deletedBundleJson, type DeletedBundleJson } from './snapshot-delete.js';
import { renderTable } from './table.js';
import { compactTimestamps, wrapLine, type TextView } from './terminal-text.js';

export interface PruneDecisionJson extends DeletedBundleJson {
  keep: boolean;
  reasons: string[];
}

export interface PruneDocument extends JsonDocument {
  sandbox: string;
  dryRun: boolean;
  decisions: PruneDecisionJson[];
  kept: number;
  removed: number;
  freedBytes: number;
}

const decisionJson = (d: PruneDecision): PruneDecisionJson => ({ ...deletedBundleJson(d), keep: d.keep, reasons: [...d.reasons] });

export function json(s: PruneSummary): PruneDocument {
  return { schemaVersion: 1, sandbox: s.sandbox, dryRun: s.dryRun, decisions: s.decisions.map(decisionJson), kept: s.kept, removed: s.removed, freedBytes: s.freedBytes };
}

export function text(summary: PruneSummary, view: TextView): string[] {
  if (summary.decisions.length === 0) return [`${summary.sandbox} has no snapshots`];
  const stamps = compactTimestamps(summary.decisions.map((d) => d.timestamp), view);
  const table = renderTable(
    ['Action', 'Version', 'Name', 'Timestamp', 'Size', 'Why'],
    summary.decisions.map((d, i) => [
      d.keep ? 'keep' : summary.dryRun ? 'would remove' : 'remove',
      d.version !== null ? `v${d.version}` : '-',
      d.name ?? '',
      stamps[i]!,
      d.bytes !== null ? formatBytes(d.bytes) : '-',
      d.reasons.join(', '),
    ]),
    view,
    { shrink: { 2: 'middle', 5: 'end' } },
  );
  const verb = summary.dryRun ? 'would remove' : 'removed';
  return [...table, ...wrapLine(`kept ${summary.kept}, ${verb} ${summary.removed} snapshot(s), ${summary.dryRun ? 'would free' : 'freed'} ${formatBytes(summary.freedBytes)}${summary.dryRun ? ' (dry run: nothing was deleted)' : ''}`, view)];
}
