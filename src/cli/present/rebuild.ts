import type { RebuildPreflight, RebuildStep, RebuildSummary } from '../../engine/rebuild/rebuild.js';
import type { ConfirmRequest } from '../confirm.js';
import type { JsonDocument } from './document.js';
import { formatBytes, formatDurationMs } from './format.js';
import { countsJson, keptReasonsJson, mergeJson, mergeLosses, type KeptReasonsJson, type MergeJson, type PlanCountsJson } from './snapshot-restore.js';

export interface RebuildJson {
  sandbox: string;
  root: string;
  snapshot: { label: string; timestamp: string; dir: string; files: number; bytes: number; restoreCommand: string };
  restore: { counts: PlanCountsJson; merges: MergeJson[]; databases: string[]; keptReasons: KeptReasonsJson };
  steps: Array<{ step: string; detail: string; durationMs: number }>;
  warnings: string[];
  durationMs: number;
}

export interface RebuildDocument extends JsonDocument {
  rebuild: RebuildJson;
}

export function json(s: RebuildSummary): RebuildDocument {
  const snap = s.snapshot;
  return {
    schemaVersion: 1,
    rebuild: {
      sandbox: s.sandbox,
      root: s.root,
      snapshot: { label: snap.label, timestamp: snap.timestamp, dir: snap.dir, files: snap.files, bytes: snap.bytes, restoreCommand: snap.restoreCommand },
      restore: { counts: countsJson(s.restore.counts), merges: s.restore.merges.map(mergeJson), databases: [...s.restore.databases], keptReasons: keptReasonsJson(s.restore.keptReasons) },
      steps: s.steps.map((step) => ({ step: step.step, detail: step.detail, durationMs: step.durationMs })),
      warnings: [...s.warnings],
      durationMs: s.durationMs,
    },
  };
}

/** One finished step, printed as it finishes. */
export function stepLine(step: RebuildStep): string {
  return `✓ ${step.detail} (${formatDurationMs(step.durationMs)})`;
}

export function text(summary: RebuildSummary): string[] {
  const lines = [`rebuilt ${summary.sandbox} at ${summary.root} in ${formatDurationMs(summary.durationMs)}`];
  for (const merge of summary.restore.merges) {
    const notes = mergeLosses(merge);
    if (merge.report.fromLive.length > 0) lines.push(`  kept from the fresh ${merge.path}: ${[merge.report.fromLive.join(', '), ...notes].join('; ')}`);
    else if (notes.length > 0) lines.push(`  ${merge.path}: ${notes.join('; ')}`);
  }
  lines.push(`  the pre-rebuild snapshot stays: ${summary.snapshot.dir}`);
  return lines;
}

/** The question a rebuild asks, from the preflight's facts. */
export function confirmation(preflight: RebuildPreflight): ConfirmRequest {
  const name = preflight.entry.name;
  const hooks = preflight.entry.hooks;
  const question = [
    `rebuild ${name}: ${hooks.stop !== undefined ? 'stop it, ' : ''}snapshot ${preflight.root} (${preflight.stateFiles} files, ${formatBytes(preflight.stateBytes)}),`,
    `move it aside, run \`${hooks.recreate ?? ''}\`, restore the snapshot into the fresh home${hooks.start !== undefined ? ', start it' : ''}.`,
    'The old root is kept until all of that succeeded. Continue?',
  ].join('\n');
  return { question, refusing: `rebuilding ${name}` };
}
