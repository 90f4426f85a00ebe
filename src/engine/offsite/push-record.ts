import fs from 'node:fs';
import path from 'node:path';
import { writeCacheFile } from '../../store/atomic.js';
import { isRecord } from '../../records.js';
import type { Parent } from './backup.js';

/**
 * What this host knows of each repository it pushed a sandbox to (keyed by the restic repository
 * string), beside the bundles, its name starting with a dot so that it is never taken for one. A
 * cache: a wrong or missing record costs one restic start, never correctness.
 *  - `pushed`: bundle timestamp → restic snapshot id, the newest few this host pushed. Push uses it
 *    to name the parent on a backup it starts before the repository's listing answers, and the
 *    listing confirms or corrects it.
 *  - `listing`: for a repository on a local path only, the sandbox's snapshots in it (what restic's
 *    listing gave, plus what this push added) and the names of every file in its `snapshots/`
 *    directory then. restic names a snapshot's file by the sha256 of its content, and never
 *    rewrites one: while that directory holds exactly the names recorded, no snapshot was added,
 *    changed or removed since, so the recorded listing is the repository's and restic need not be
 *    asked (its key's KDF alone costs ~0.5 s of CPU). Any other name, or one missing, and restic
 *    lists as before.
 */
export const PUSH_RECORD_FILE = '.pushed.json';
const FORMAT = 2;
const KEEP_PER_REPO = 8;
const KEEP_REPOS = 16;

/** A snapshot of the sandbox in the repository, as push needs it. */
export interface Listed {
  timestamp: string;
  snapshotId: string;
  hostname: string;
}

interface RepoRecord {
  pushed: Array<[string, string]>;
  listing?: { files: string[]; bundles: Array<[string, string, string]> };
}

function readRepos(sandboxDir: string): Record<string, RepoRecord> {
  try {
    const value = JSON.parse(fs.readFileSync(path.join(sandboxDir, PUSH_RECORD_FILE), 'utf8')) as unknown;
    if (!isRecord(value) || value.format !== FORMAT || !isRecord(value.repos)) return {};
    return value.repos as Record<string, RepoRecord>;
  } catch {
    return {};
  }
}

const strings = (row: unknown, n: number): boolean => Array.isArray(row) && row.length === n && row.every((s) => typeof s === 'string');

/**
 * What the record holds for `repository`, read once: the snapshots this host last pushed there (none
 * recorded: undefined), and, for a local repository whose `snapshots/` directory holds exactly the
 * names (`files`, sorted) recorded with it, the recorded listing (else undefined). A `snapshots/`
 * directory with no file at all needs no record: the repository holds no snapshot, so restic's
 * listing would be empty (a new repository's first push is not slowed by a second KDF).
 */
export function readPushRecord(sandboxDir: string, repository: string, files: readonly string[] | undefined): { pushed: Parent[] | undefined; listing: Listed[] | undefined } {
  const record = readRepos(sandboxDir)[repository];
  const entries = Array.isArray(record?.pushed) ? record.pushed.filter((e) => strings(e, 2)).map(([timestamp, snapshotId]) => ({ timestamp, snapshotId })) : [];
  return { pushed: entries.length > 0 ? entries : undefined, listing: files === undefined ? undefined : files.length === 0 ? [] : recalled(record?.listing, files) };
}

function recalled(listing: unknown, files: readonly string[]): Listed[] | undefined {
  if (!isRecord(listing) || !Array.isArray(listing.files) || !Array.isArray(listing.bundles)) return undefined;
  if (listing.files.length !== files.length || listing.files.some((name, i) => name !== files[i])) return undefined;
  if (!listing.bundles.every((row) => strings(row, 3))) return undefined;
  return (listing.bundles as Array<[string, string, string]>).map(([timestamp, snapshotId, hostname]) => ({ timestamp, snapshotId, hostname }));
}

/**
 * Records `parents` (this host's snapshots in `repository`, as its listing and this push know
 * them): the newest few; and, for a local repository whose `snapshots/` directory is known to hold
 * only what the listing saw and this push added, that listing with the directory's names.
 */
export function writePushRecord(sandboxDir: string, repository: string, parents: Parent[], listing?: { files: string[]; bundles: Listed[] }): void {
  const newest = [...parents].sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1)).slice(-KEEP_PER_REPO);
  const repos = readRepos(sandboxDir);
  delete repos[repository];
  const record: RepoRecord = { pushed: newest.map((p) => [p.timestamp, p.snapshotId]) };
  if (listing !== undefined) record.listing = { files: listing.files, bundles: listing.bundles.map((b) => [b.timestamp, b.snapshotId, b.hostname]) };
  if (newest.length > 0 || listing !== undefined) repos[repository] = record;
  const kept = Object.fromEntries(Object.entries(repos).slice(-KEEP_REPOS));
  writeCacheFile(path.join(sandboxDir, PUSH_RECORD_FILE), JSON.stringify({ format: FORMAT, repos: kept }));
}

const SNAPSHOT_FILE = /^[0-9a-f]{64}$/;

/**
 * The names in a local repository's `snapshots/` directory, sorted; undefined for any other backend
 * (sftp:, s3:, rest:... are not absolute paths) or when the directory cannot be read as restic
 * writes it.
 */
export function snapshotFiles(repository: string): string[] | undefined {
  const local = repository.startsWith('local:') ? repository.slice('local:'.length) : repository;
  if (!path.isAbsolute(local)) return undefined;
  try {
    const names = fs.readdirSync(path.join(local, 'snapshots'));
    return names.every((name) => SNAPSHOT_FILE.test(name)) ? names.sort() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The listing to record after a push: the snapshot files now, if they are those read before the
 * push (`before`) plus one new file for each snapshot this push made, and nothing else; undefined
 * when anything else changed the directory meanwhile (the next push then lists).
 */
export function listingAfter(repository: string, before: readonly string[] | undefined, listed: readonly Listed[], made: readonly Listed[]): { files: string[]; bundles: Listed[] } | undefined {
  const after = before === undefined ? undefined : snapshotFiles(repository);
  if (before === undefined || after === undefined) return undefined;
  const was = new Set(before);
  const added = after.filter((name) => !was.has(name));
  if (after.length - added.length !== before.length || added.length !== made.length) return undefined;
  const mine: Listed[] = [];
  for (const snapshot of made) {
    const file = added.find((name) => name.startsWith(snapshot.snapshotId) && !mine.some((m) => m.snapshotId === name));
    if (file === undefined || snapshot.snapshotId.length < 8) return undefined;
    mine.push({ ...snapshot, snapshotId: file });
  }
  const present = new Set(after);
  return { files: after, bundles: [...listed.filter((b) => present.has(b.snapshotId)), ...mine] };
}
