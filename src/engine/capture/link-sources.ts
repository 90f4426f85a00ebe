import path from 'node:path';
import { ClawbackError } from '../../errors.js';
import { PAYLOAD_DIR, type BundleEntry } from '../../manifest/bundle-manifest.js';
import { completeBundles, readBundleManifest, type BundleRecord } from '../../store/bundles.js';
import type { EngineDeps } from '../deps.js';

/** Where an unchanged file may be hard-linked from: the entry that captured it, and its file in that bundle. */
export interface LinkSource {
  entry: BundleEntry;
  file: string;
}

/**
 * For each path the snapshot will write, its entry in the newest bundle that holds it. The newest
 * bundle is read first, then older ones only for the paths still unanswered, stopping at the newest
 * full snapshot (it held everything then captured): a partial snapshot between two full ones costs
 * the next full one nothing. One inventory is parsed at a time and only wanted paths are kept.
 * A NemoClaw bundle is never a source: nothing may ever change it, not even its link counts.
 */
export function linkSources(records: BundleRecord[], wanted: ReadonlySet<string>, deps: EngineDeps): Map<string, LinkSource> {
  const sources = new Map<string, LinkSource>();
  const answered = new Set<string>();
  const candidates = completeBundles(records).filter((r) => r.legacy === undefined).reverse();
  for (const record of candidates) {
    const entries = inventory(record, deps);
    // A file captured raw there is tried through SQLite again (and named again), not linked silently.
    const degraded = new Set((record.header.degraded ?? []).map((d) => d.path));
    const payload = path.join(record.dir, PAYLOAD_DIR);
    for (const entry of entries ?? []) {
      if (!wanted.has(entry.path) || answered.has(entry.path)) continue;
      answered.add(entry.path);
      if (entry.type === 'file' && !degraded.has(entry.path)) sources.set(entry.path, { entry, file: payload + '/' + entry.path });
    }
    if (record.header.scope.full || answered.size === wanted.size) break;
  }
  return sources;
}

/** A bundle's inventory, read afresh so only one is held at a time; a damaged one only costs its links. */
function inventory(record: BundleRecord, deps: EngineDeps): BundleEntry[] | undefined {
  try {
    return readBundleManifest(record.dir).entries;
  } catch (error) {
    if (!(error instanceof ClawbackError)) throw error;
    deps.events.warning?.(`not reusing files of ${record.id}: ${error.message}`);
    return undefined;
  }
}
