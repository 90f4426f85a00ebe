import { deepEqual, entryId, getOwn, isRecord, type ConfigRecord } from './values.js';

export interface MergeReport {
  /** Key paths where the two sides differ and the result has the live value (or, like live, no key). */
  fromLive: string[];
  /** Key paths where the two sides differ and the result has the snapshot's value. */
  fromSnapshot: string[];
  /** key-allowlist keys left live because the snapshot's value has another type (also in fromLive). */
  skipped: string[];
  /** The result is neither side's text verbatim but written anew, so comments and layout were not kept. */
  rewritten: boolean;
  /** `$include` references outside the state root (absolute, or leaving it by `..`): never read nor restored. */
  outsideIncludes: string[];
}

/**
 * Reads the merge's decisions off its result, so every merge kind is reported the same way. Only
 * paths where the two sides differ are listed, each at the shallowest level where the result takes one
 * side's value whole: `gateway` rather than each gateway setting, `tools.toolSearch` and
 * `tools.profile` when the tools table is mixed. Lists of objects with unique ids are walked by id
 * (`models.providers.openai.models[gpt-4o]`).
 */
export function describeMerge(live: unknown, snapshot: unknown, result: unknown, skipped: string[] = [], base = ''): Pick<MergeReport, 'fromLive' | 'fromSnapshot' | 'skipped'> {
  const report: Pick<MergeReport, 'fromLive' | 'fromSnapshot' | 'skipped'> = { fromLive: [], fromSnapshot: [], skipped };
  walk(live, snapshot, result, base, report, base);
  return report;
}

type Decisions = Pick<MergeReport, 'fromLive' | 'fromSnapshot'>;

/** `root` is the key path of the file's top level: '' for a config, where an `$include` file sits for one. */
function walk(live: unknown, snapshot: unknown, result: unknown, path: string, report: Decisions, root: string): void {
  if (deepEqual(live, snapshot)) return;
  // The root is always broken down, so the report names keys even when one side wins everything.
  if (path !== root && deepEqual(result, snapshot)) {
    report.fromSnapshot.push(path);
    return;
  }
  if (path !== root && deepEqual(result, live)) {
    report.fromLive.push(path);
    return;
  }
  if (isRecord(result) && isTableOrAbsent(live) && isTableOrAbsent(snapshot)) {
    const liveTable = live ?? {};
    const snapshotTable = snapshot ?? {};
    for (const key of new Set([...Object.keys(result), ...Object.keys(liveTable), ...Object.keys(snapshotTable)])) {
      walk(getOwn(liveTable, key), getOwn(snapshotTable, key), getOwn(result, key), path === '' ? key : `${path}.${key}`, report, root);
    }
    return;
  }
  const liveById = indexById(live);
  const snapshotById = indexById(snapshot);
  const resultById = indexById(result);
  if (liveById && snapshotById && resultById) {
    for (const id of new Set([...resultById.keys(), ...liveById.keys(), ...snapshotById.keys()])) {
      walk(liveById.get(id), snapshotById.get(id), resultById.get(id), `${path}[${id}]`, report, root);
    }
    return;
  }
  // Not reached by clawback's merges, which only ever pick values from one side or the other.
  report.fromSnapshot.push(path);
}

function isTableOrAbsent(value: unknown): value is ConfigRecord | undefined {
  return value === undefined || isRecord(value);
}

function indexById(value: unknown): Map<string, unknown> | undefined {
  if (!Array.isArray(value)) return undefined;
  const byId = new Map<string, unknown>();
  for (const entry of value) {
    const id = entryId(entry);
    if (id === undefined || byId.has(id)) return undefined;
    byId.set(id, entry);
  }
  return byId;
}
