import { spawn } from 'node:child_process';
import { removeTree } from '../../store/dirs.js';
import { hasEscapedBytes, readNames } from '../../fs-safety/fs-path.js';

/** A subtree of an old tree known to be large (a carried tree: the plan counted its entries). */
export interface HeavyPart {
  /** Below the old tree's root. */
  rel: string;
  entries: number;
}

/** Below this many entries in the heavy parts, one `rm` does it as fast. */
const PARALLEL_MIN_ENTRIES = 4000;

/** `rm -rf` of these paths in a child process; resolves when it exits (its status is not trusted: removeTree finishes the job). */
function rmAsync(paths: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('rm', ['-rf', '--', ...paths], { stdio: 'ignore' });
    child.once('error', () => resolve());
    child.once('close', () => resolve());
  });
}

/** Deals parts (largest first) into `n` groups of about equal entries; the light paths (of unknown size) go to the lightest group. */
function dealParts(parts: readonly HeavyPart[], light: readonly string[], n: number): string[][] {
  const groups = Array.from({ length: n }, () => ({ paths: [] as string[], load: 0 }));
  const lightest = (): { paths: string[]; load: number } => groups.reduce((min, g) => (g.load < min.load ? g : min), groups[0]!);
  for (const part of [...parts].sort((a, b) => b.entries - a.entries)) {
    const target = lightest();
    target.paths.push(part.rel);
    target.load += part.entries;
  }
  lightest().paths.push(...light);
  return groups.filter((g) => g.paths.length > 0).map((g) => g.paths);
}

/** The old tree's top-level entries that hold no heavy part: removed alongside the heavy parts. */
function lightNames(old: string, heavy: readonly HeavyPart[]): string[] {
  const tops = new Set(heavy.map((p) => p.rel.split('/')[0]!));
  return readNames(old).filter((name) => !tops.has(name) && !hasEscapedBytes(name) && !name.startsWith('-'));
}

/**
 * Removes an old tree after the swap: its heavy parts first by `parallelism` concurrent `rm -rf`
 * (unlinking is kernel work that two cores share), then the rest, and whatever a child left,
 * by removeTree. Resolves only once the tree is gone.
 */
export async function removeOldTree(old: string, heavy: readonly HeavyPart[], parallelism: number): Promise<void> {
  const total = heavy.reduce((sum, p) => sum + p.entries, 0);
  // Names that are not UTF-8 cannot be passed to rm as strings: removeTree handles them.
  const usable = heavy.filter((p) => !hasEscapedBytes(p.rel) && p.rel !== '' && !p.rel.startsWith('-'));
  if (parallelism >= 2 && total >= PARALLEL_MIN_ENTRIES && !hasEscapedBytes(old) && usable.length >= 2) {
    const light = lightNames(old, usable).map((name) => `${old}/${name}`);
    const groups = dealParts(usable.map((p) => ({ rel: `${old}/${p.rel}`, entries: p.entries })), light, parallelism);
    await Promise.all(groups.map((paths) => rmAsync(paths)));
  }
  removeTree(old);
}
