import type { RemotePruneSummary } from '../../engine/offsite/forget.js';
import * as local from './snapshot-prune.js';
import type { TextView } from './terminal-text.js';

/** Local prune's document with the repository named; `freedBytes` is 0 (restic reports what its prune frees in its own words). */
export interface RemotePruneDocument extends local.PruneDocument {
  repo: string;
}

export function json(s: RemotePruneSummary): RemotePruneDocument {
  return { ...local.json(s), repo: s.repo };
}

/** The same table as local prune; the last line names the repository instead of local bytes. */
export function text(s: RemotePruneSummary, view: TextView): string[] {
  if (s.decisions.length === 0) return [`repository ${s.repo} holds no snapshot of ${s.sandbox}`];
  const lines = local.text(s, view);
  const verb = s.dryRun ? 'would remove' : 'removed';
  lines[lines.length - 1] = `kept ${s.kept}, ${verb} ${s.removed} snapshot(s) of ${s.sandbox} in repository ${s.repo}${s.dryRun ? ' (dry run: nothing was forgotten)' : s.removed > 0 ? '; restic pruned the data no snapshot uses' : ''}`;
  return lines;
}
