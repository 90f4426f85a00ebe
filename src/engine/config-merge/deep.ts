import { matchesAny, type KeyPattern } from './key-paths.js';
import { getOwn, isRecord, setOwn, unionKeys, type ConfigRecord } from './values.js';

export interface SnapshotWinsRules {
  /** Keys the live file owns: the result has the live value, or no key when live has none. */
  liveOwns: readonly KeyPattern[];
  /** A merge of its own for some keys the snapshot has; undefined falls back to the default. */
  special?: (path: readonly string[], live: unknown, snapshot: unknown) => { value: unknown } | undefined;
}

const NO_RULES: SnapshotWinsRules = { liveOwns: [] };

/**
 * Deep merge where the snapshot wins: tables merge key by key, arrays and scalars are replaced by the
 * snapshot's, keys only live has are kept. A key the live side owns is decided by live at any depth,
 * also inside a table only the snapshot has: when live has no such key, the result has none either.
 */
export function mergeSnapshotWins(live: unknown, snapshot: unknown, rules: SnapshotWinsRules = NO_RULES, path: readonly string[] = []): unknown {
  const special = rules.special?.(path, live, snapshot);
  if (special) return special.value;
  if (isRecord(snapshot)) return mergeTables(isRecord(live) ? live : {}, snapshot, rules, path);
  return snapshot;
}

function mergeTables(live: ConfigRecord, snapshot: ConfigRecord, rules: SnapshotWinsRules, path: readonly string[]): ConfigRecord {
  const merged: ConfigRecord = {};
  for (const key of unionKeys(live, snapshot)) {
    const keyPath = [...path, key];
    const liveValue = getOwn(live, key);
    const snapshotValue = getOwn(snapshot, key);
    let value: unknown;
    if (matchesAny(rules.liveOwns, keyPath) || snapshotValue === undefined) value = liveValue;
    else value = mergeSnapshotWins(liveValue, snapshotValue, rules, keyPath);
    if (value !== undefined) setOwn(merged, key, value);
  }
  return merged;
}
