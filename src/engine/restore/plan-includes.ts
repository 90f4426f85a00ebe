import JSON5 from 'json5';
import type { MergeRule } from '../../manifest/agent-manifest.js';
import type { BundleEntry } from '../../manifest/bundle-manifest.js';
import { readVerified } from '../bundle/checked-read.js';
import { configHashPath, discoverIncludes, lastGoodPath } from '../config-merge/index.js';

/** How one payload file is merged: the rule, and for an OpenClaw `$include` file where its content sits. */
export interface FileMerge {
  rule: MergeRule;
  at?: readonly string[];
}

export interface IncludeSources {
  entry: (path: string) => BundleEntry | undefined;
  payloadDir: string;
  /** The live directory of the root mount, if the restore has one. */
  liveRoot: string | undefined;
  /** Reads a live file's text (this host's, or a remote target's). */
  readLive: (file: string) => string | undefined;
}

/**
 * The merge of every file with a rule, plus the `$include` files inside the root that an
 * `openclaw-config` file reaches (through the snapshot's copy or the live one): merged by the same
 * rule at their place in the config. Only `.json`/`.json5` includes are merged; others are restored
 * as files. A side that does not parse adds no includes; its own merge reports the error.
 */
export function fileMerges(rules: ReadonlyMap<string, MergeRule>, sources: IncludeSources): Map<string, FileMerge> {
  const merges = new Map<string, FileMerge>([...rules].map(([file, rule]) => [file, { rule }]));
  for (const [file, rule] of rules) {
    if (rule.kind !== 'openclaw-config') continue;
    for (const ref of discoverIncludes(file, (f) => parsedSides(f, sources)).inside) {
      if (!merges.has(ref.file) && /\.json5?$/i.test(ref.file)) merges.set(ref.file, { rule, at: ref.at });
    }
  }
  return merges;
}

/** The payload paths that follow an `openclaw-config` file: its last-good copy and the `.config-hash` beside it. */
export function companionsOf(config: string): Array<{ path: string; role: 'last-good' | 'config-hash' }> {
  return [
    { path: lastGoodPath(config), role: 'last-good' },
    { path: configHashPath(config), role: 'config-hash' },
  ];
}

function parsedSides(file: string, sources: IncludeSources): unknown[] {
  const sides: unknown[] = [];
  const entry = sources.entry(file);
  if (entry?.type === 'file' && entry.strategy !== 'sqlite_backup') sides.push(parseOrSkip(() => readVerified(`${sources.payloadDir}/${file}`, entry).toString('utf8')));
  if (sources.liveRoot !== undefined) sides.push(parseOrSkip(() => sources.readLive(`${sources.liveRoot}/${file}`)));
  return sides.filter((s) => s !== undefined);
}


function parseOrSkip(read: () => string | undefined): unknown {
  try {
    const text = read();
    return text === undefined ? undefined : (JSON5.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
