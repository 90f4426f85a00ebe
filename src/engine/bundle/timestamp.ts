import fs from 'node:fs';
import { PARTIAL_SUFFIX } from '../../store/bundles.js';
import { bundleTimestamp } from '../../store/home.js';
import { DELETING_PREFIX, IMPORT_SCRATCH_PREFIX } from './remove.js';

export { IMPORT_SCRATCH_PREFIX } from './remove.js';

/** The prefixes and suffixes a bundle's timestamp can wear in the sandbox dir, besides its own name. */
const PREFIXES = [DELETING_PREFIX, IMPORT_SCRATCH_PREFIX];

/** The timestamp a name of the sandbox dir stands for: a bundle, its partial, its deletion, or a scratch dir. */
function stampOf(name: string): string {
  const bare = PREFIXES.reduce((n, prefix) => (n.startsWith(prefix) ? n.slice(prefix.length) : n), name);
  return bare.endsWith(PARTIAL_SUFFIX) ? bare.slice(0, -PARTIAL_SUFFIX.length) : bare;
}

/**
 * The timestamp of `time` for a new bundle, moved on a millisecond at a time until no name in
 * the sandbox dir uses it: not a bundle, a partial one, one being deleted, or an import's scratch.
 * The caller holds the sandbox lock.
 */
export function freeTimestamp(sandboxDir: string, time: Date): string {
  const taken = new Set(fs.readdirSync(sandboxDir).map(stampOf));
  for (let ms = time.getTime(); ; ms++) {
    const stamp = bundleTimestamp(new Date(ms));
    if (!taken.has(stamp)) return stamp;
  }
}
