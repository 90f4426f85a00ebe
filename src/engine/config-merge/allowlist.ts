import { parseKeyPath } from './key-paths.js';
import { getOwn, isRecord, kindOf, setOwn, type ConfigRecord } from './values.js';

export interface AllowlistMerge {
  value: ConfigRecord;
  /** Listed keys whose snapshot value has another type than the live one. */
  skipped: string[];
}

/**
 * Starts from the live file and takes each listed key from the snapshot, whole, if its type still
 * matches: a newer agent that changed a setting's type would not understand the old value.
 */
export function mergeAllowlist(live: ConfigRecord, snapshot: ConfigRecord, keys: readonly string[]): AllowlistMerge {
  let value = live;
  const skipped: string[] = [];
  for (const key of keys) {
    const path = parseKeyPath(key);
    const wanted = lookup(snapshot, path);
    if (!wanted.found) continue;
    const current = lookup(value, path);
    if (current.blocked || (current.found && kindOf(current.value) !== kindOf(wanted.value))) {
      skipped.push(key);
      continue;
    }
    value = withValue(value, path, wanted.value);
  }
  return { value, skipped };
}

interface Lookup {
  found: boolean;
  value: unknown;
  /** A parent on the way is not a table, so the key cannot be set without changing that parent's type. */
  blocked: boolean;
}

function lookup(root: ConfigRecord, path: readonly string[]): Lookup {
  let node: unknown = root;
  for (const segment of path) {
    if (!isRecord(node)) return { found: false, value: undefined, blocked: node !== undefined };
    node = getOwn(node, segment);
  }
  return { found: node !== undefined, value: node, blocked: false };
}

/** A copy of root with the value set at path; tables on the way are copied, never changed in place. */
function withValue(root: ConfigRecord, path: readonly string[], value: unknown): ConfigRecord {
  const [head, ...rest] = path;
  if (head === undefined) return root;
  const copy: ConfigRecord = {};
  for (const key of Object.keys(root)) setOwn(copy, key, root[key]);
  if (rest.length === 0) {
    setOwn(copy, head, value);
  } else {
    const child = getOwn(root, head);
    setOwn(copy, head, withValue(isRecord(child) ? child : {}, rest, value));
  }
  return copy;
}
