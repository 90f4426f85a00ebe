import type { MergeRule } from '../../manifest/agent-manifest.js';
import { mergeAllowlist } from './allowlist.js';
import { mergeSnapshotWins } from './deep.js';
import { formatOf, parseConfig, parseConfigValue, serialiseConfig } from './formats.js';
import { includeRefs } from './includes.js';
import { matchesAny, parseKeyPath, type KeyPattern } from './key-paths.js';
import { OPENCLAW_RULES } from './openclaw.js';
import { describeMerge, type MergeReport } from './report.js';
import { deepEqual, isRecord, type ConfigRecord } from './values.js';

export type { MergeReport } from './report.js';
export { discoverIncludes, type IncludeRef } from './includes.js';
export { configHashText, lastGoodPath, configHashPath } from './openclaw-companions.js';

export interface ConfigMergeResult {
  text: string;
  report: MergeReport;
}

/**
 * The text to restore for a config file with a `restore.merge` rule: the live file (what is on disk
 * now) merged with the snapshot's copy. Throws IntegrityError `config-unparseable` when either side
 * does not parse; there is no whole-file fallback. `file` is the path relative to the state root;
 * `at` is where an OpenClaw `$include` file's content sits in the root config ([] for the config).
 */
export function mergeConfigText(rule: MergeRule, file: string, liveText: string | undefined, snapshotText: string, at: readonly string[] = []): ConfigMergeResult {
  // Nothing to merge with: the snapshot's file comes back byte for byte, as a plain restore would.
  if (liveText === undefined) return { text: snapshotText, report: { fromLive: [], fromSnapshot: [], skipped: [], rewritten: false, outsideIncludes: [] } };

  const format = formatOf(file);
  const parse = at.length === 0 ? parseConfig : parseConfigValue;
  const live = parse(format, file, 'live', liveText);
  const snapshot = parse(format, file, 'snapshot', snapshotText);
  const { value, skipped } = isRecord(live) && isRecord(snapshot) ? mergeValues(rule, live, snapshot, at) : { value: wholeSide(rule, live, snapshot, at), skipped: [] };
  const decisions = describeMerge(live, snapshot, value, skipped, at.join('.'));
  const outsideIncludes = rule.kind === 'openclaw-config' ? outsideOf(file, [live, snapshot]) : [];
  // Reuse a side's text when the result equals it, so its comments and layout survive.
  if (deepEqual(value, snapshot)) return { text: snapshotText, report: { ...decisions, rewritten: false, outsideIncludes } };
  if (deepEqual(value, live)) return { text: liveText, report: { ...decisions, rewritten: false, outsideIncludes } };
  return { text: serialiseConfig(format, value), report: { ...decisions, rewritten: true, outsideIncludes } };
}

/** An `$include` file that is not an object on both sides is taken whole: live's if the live side owns its place. */
function wholeSide(rule: MergeRule, live: unknown, snapshot: unknown, at: readonly string[]): unknown {
  const liveOwns = rule.kind === 'openclaw-config' ? OPENCLAW_RULES.liveOwns : rule.kind === 'json-merge' ? rule.protected.map(parseKeyPath) : [];
  return ownedAbove(liveOwns, at) ? live : snapshot;
}

function outsideOf(file: string, sides: unknown[]): string[] {
  return [...new Set(sides.flatMap((side) => includeRefs(side, file).outside))].sort();
}

function mergeValues(rule: MergeRule, live: ConfigRecord, snapshot: ConfigRecord, at: readonly string[]): { value: ConfigRecord; skipped: string[] } {
  switch (rule.kind) {
    case 'openclaw-config':
      return { value: ownedAbove(OPENCLAW_RULES.liveOwns, at) ? live : asRecord(mergeSnapshotWins(live, snapshot, OPENCLAW_RULES, at)), skipped: [] };
    case 'key-allowlist':
      return mergeAllowlist(live, snapshot, rule.keys);
    // Protected keys are owned by the live file: its value, or no key at all when live has none.
    case 'json-merge': {
      const liveOwns = rule.protected.map(parseKeyPath);
      return { value: ownedAbove(liveOwns, at) ? live : asRecord(mergeSnapshotWins(live, snapshot, { liveOwns }, at)), skipped: [] };
    }
  }
}

/** An `$include` file placed at or below a key the live side owns (`gateway: { $include: … }`) is the live side's whole. */
function ownedAbove(liveOwns: readonly KeyPattern[], at: readonly string[]): boolean {
  for (let depth = 1; depth <= at.length; depth++) if (matchesAny(liveOwns, at.slice(0, depth))) return true;
  return false;
}

function asRecord(value: unknown): ConfigRecord {
  if (!isRecord(value)) throw new Error('a merge of two tables did not return a table');
  return value;
}
