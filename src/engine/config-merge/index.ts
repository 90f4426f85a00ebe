import type { MergeRule } from '../../manifest/agent-manifest.js';
import { mergeAllowlist } from './allowlist.js';
import { mergeSnapshotWins } from './deep.js';
import { formatOf, parseConfig, serialiseConfig } from './formats.js';
import { parseKeyPath } from './key-paths.js';
import { OPENCLAW_RULES } from './openclaw.js';
import { describeMerge, type MergeReport } from './report.js';
import { deepEqual, isRecord, type ConfigRecord } from './values.js';

export type { MergeReport } from './report.js';

export interface ConfigMergeResult {
  text: string;
  report: MergeReport;
}

/**
 * The text to restore for a config file with a `restore.merge` rule: the live file (what is on disk
 * now) merged with the snapshot's copy. Throws IntegrityError `config-unparseable` when either side
 * does not parse; there is no whole-file fallback. `file` is the path relative to the state root.
 */
export function mergeConfigText(rule: MergeRule, file: string, liveText: string | undefined, snapshotText: string): ConfigMergeResult {
  // Nothing to merge with: the snapshot's file comes back byte for byte, as a plain restore would.
  if (liveText === undefined) return { text: snapshotText, report: { fromLive: [], fromSnapshot: [], skipped: [] } };

  const format = formatOf(file);
  const live = parseConfig(format, file, 'live', liveText);
  const snapshot = parseConfig(format, file, 'snapshot', snapshotText);
  const { value, skipped } = mergeValues(rule, live, snapshot);
  const report = describeMerge(live, snapshot, value, skipped);
  // Reuse a side's text when the result equals it, so its comments and layout survive.
  if (deepEqual(value, snapshot)) return { text: snapshotText, report };
  if (deepEqual(value, live)) return { text: liveText, report };
  return { text: serialiseConfig(format, value), report };
}

function mergeValues(rule: MergeRule, live: ConfigRecord, snapshot: ConfigRecord): { value: ConfigRecord; skipped: string[] } {
  switch (rule.kind) {
    case 'openclaw-config':
      return { value: asRecord(mergeSnapshotWins(live, snapshot, OPENCLAW_RULES)), skipped: [] };
    case 'key-allowlist':
      return mergeAllowlist(live, snapshot, rule.keys);
    // Protected keys are owned by the live file: its value, or no key at all when live has none.
    case 'json-merge':
      return { value: asRecord(mergeSnapshotWins(live, snapshot, { liveOwns: rule.protected.map(parseKeyPath) })), skipped: [] };
  }
}

function asRecord(value: unknown): ConfigRecord {
  if (!isRecord(value)) throw new Error('a merge of two tables did not return a table');
  return value;
}
