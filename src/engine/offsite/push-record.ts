import fs from 'node:fs';
import path from 'node:path';
import { writeCacheFile } from '../../store/atomic.js';
import { isRecord } from '../../records.js';
import type { Parent } from './backup.js';

/**
 * What this host pushed of a sandbox to each repository (keyed by the restic repository string):
 * bundle timestamp → restic snapshot id, the newest few. A cache, only ever a guess: push uses it to
 * name the parent on a backup it starts before the repository's listing answers, and the listing
 * confirms or corrects it. A wrong or missing record costs one restic start, never correctness.
 * Beside the bundles, its name starting with a dot so that it is never taken for one.
 */
export const PUSH_RECORD_FILE = '.pushed.json';
const FORMAT = 1;
const KEEP_PER_REPO = 8;
const KEEP_REPOS = 16;

type Repos = Record<string, Array<[string, string]>>;

function readRepos(sandboxDir: string): Repos {
  try {
    const value = JSON.parse(fs.readFileSync(path.join(sandboxDir, PUSH_RECORD_FILE), 'utf8')) as unknown;
    if (!isRecord(value) || value.format !== FORMAT || !isRecord(value.repos)) return {};
    return value.repos as Repos;
  } catch {
    return {};
  }
}

/** The snapshots this host last pushed to `repository` (none recorded: undefined). */
export function readPushRecord(sandboxDir: string, repository: string): Parent[] | undefined {
  const entries = readRepos(sandboxDir)[repository];
  if (!Array.isArray(entries)) return undefined;
  const parents = entries
    .filter((e): e is [string, string] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string')
    .map(([timestamp, snapshotId]) => ({ timestamp, snapshotId }));
  return parents.length > 0 ? parents : undefined;
}

/** Records `parents` (this host's snapshots in `repository`, as its listing and this push know them): the newest few. */
export function writePushRecord(sandboxDir: string, repository: string, parents: Parent[]): void {
  const newest = [...parents].sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1)).slice(-KEEP_PER_REPO);
  const repos = readRepos(sandboxDir);
  delete repos[repository];
  if (newest.length > 0) repos[repository] = newest.map((p) => [p.timestamp, p.snapshotId]);
  const kept = Object.fromEntries(Object.entries(repos).slice(-KEEP_REPOS));
  writeCacheFile(path.join(sandboxDir, PUSH_RECORD_FILE), JSON.stringify({ format: FORMAT, repos: kept }));
}
