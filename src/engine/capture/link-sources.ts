import path from 'node:path';
import { ClawbackError } from '../../errors.js';
import { PAYLOAD_DIR, type BundleEntry } from '../../manifest/bundle-manifest.js';
import { completeBundles, openInventory, type BundleRecord } from '../../store/bundles.js';
import type { EngineDeps } from '../deps.js';

/** Where an unchanged file may be hard-linked from: the entry that captured it, and the payload dir of its bundle. */
export interface LinkSource {
  entry: BundleEntry;
  payload: string;
}

/** Per path, the newest earlier capture of it; `fileOf` names its file in that bundle. */
export interface LinkSources {
  get(path: string): LinkSource | undefined;
  fileOf(path: string, source: LinkSource): string;
}

/** The fields create compares and copies from a previous entry: the rest of it is not kept. */
function kept(entry: BundleEntry): BundleEntry {
  const slim: BundleEntry = { path: '', type: 'file', module: '', size: entry.size!, sha256: entry.sha256! };
  if (entry.mode !== undefined) slim.mode = entry.mode;
  if (entry.mtimeMs !== undefined) slim.mtimeMs = entry.mtimeMs;
  if (entry.dev !== undefined) slim.dev = entry.dev;
  if (entry.ino !== undefined) slim.ino = entry.ino;
  if (entry.strategy !== undefined) slim.strategy = entry.strategy;
  if (entry.journalMode !== undefined) slim.journalMode = entry.journalMode;
  if (entry.walSize !== undefined) slim.walSize = entry.walSize;
  if (entry.walMtimeMs !== undefined) slim.walMtimeMs = entry.walMtimeMs;
  if (entry.sourceSize !== undefined) slim.sourceSize = entry.sourceSize;
  if (entry.sparse === true) slim.sparse = true;
  return slim;
}

/**
 * For each path the snapshot will write, its entry in the newest bundle that holds it. The newest
 * bundle is read first, then older ones only for the paths still unanswered, stopping at the newest
 * full snapshot (it held everything then captured): a partial snapshot between two full ones costs
 * the next full one nothing. Inventories are streamed, and only wanted files are kept, slimmed to
 * what linking needs. A NemoClaw bundle is never a source: nothing may ever change it, not even its
 * link counts.
 */
export function linkSources(records: BundleRecord[], wanted: ReadonlySet<string>, deps: EngineDeps): LinkSources {
  const sources = new Map<string, LinkSource>();
  const answered = new Set<string>();
  const candidates = completeBundles(records).filter((r) => r.legacy === undefined).reverse();
  for (const record of candidates) {
    // A file captured raw there is tried through SQLite again (and named again), not linked silently.
    const degraded = new Set((record.header.degraded ?? []).map((d) => d.path));
    const payload = path.join(record.dir, PAYLOAD_DIR);
    const found = new Map<string, LinkSource>();
    const seen: string[] = [];
    try {
      for (const entry of openInventory(record.dir, record.header).entries()) {
        if (!wanted.has(entry.path) || answered.has(entry.path)) continue;
        seen.push(entry.path);
        if (entry.type === 'file' && !degraded.has(entry.path)) found.set(entry.path, { entry: kept(entry), payload });
      }
      for (const p of seen) answered.add(p);
      for (const [p, source] of found) sources.set(p, source);
    } catch (error) {
      // A damaged inventory only costs its links: none of it is used.
      if (!(error instanceof ClawbackError)) throw error;
      deps.events.warning?.(`not reusing files of ${record.id}: ${error.message}`);
    }
    if (record.header.scope.full || answered.size === wanted.size) break;
  }
  return { get: (p) => sources.get(p), fileOf: (p, source) => `${source.payload}/${p}` };
}
