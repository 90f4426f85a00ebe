import fs from 'node:fs';
import { readLinkTarget } from '../../fs-safety/fs-path.js';
import path from 'node:path';
import { ClawbackError, UsageError } from '../../errors.js';
import { MANIFEST_FILE, type BundleEntry } from '../../manifest/bundle-manifest.js';
import { bundlePayloadDir, openInventory, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import type { Inventory } from '../../store/inventory-reader.js';
import { lockIsHeld } from '../../store/lock.js';
import { resolveSelector } from '../../store/selector.js';
import type { EngineDeps } from '../deps.js';
import { headerRecords } from '../bundle/header-records.js';
import type { HashOutcome } from './hash-worker.js';
import { ExpectedFiles, type FileEntry, type OutcomeTable } from './file-table.js';
import { HasherPool } from './hasher-pool.js';
import { foundType, handOut, TYPE_WORDS } from './payload-walk.js';
import { defaultThreads } from './prestart.js';
import { HASH_LATE, UNREAD, unhashedMarks, type UnhashedFiles } from './unhashed.js';
import { databaseProblem, sqliteVerdict } from './database-copies.js';

export type { UnhashedFiles } from './unhashed.js';

export interface VerifyRequest {
  sandbox: string;
  /** Default: latest. */
  selector?: string;
  /** Every bundle of the sandbox; partial and corrupt ones count as damage (not a `.partial` being written now). */
  all?: boolean;
  /** Hashing worker threads; default one per core but one (at most 4, none on one core); 0 hashes on the calling thread. */
  threads?: number;
  /** A bundle with fewer payload bytes is hashed on the calling thread (default 128 MiB: below it, starting workers costs more). */
  parallelFromBytes?: number;
  /** Payload files left unhashed (a push's: see UnhashedFiles); only with a selector. */
  unhashed?: UnhashedFiles;
}

export interface VerifyProblem {
  /** Payload-relative path, `rebuild-manifest.json`, or '' for the bundle as a whole. */
  path: string;
  problem: string;
}

export interface BundleVerification {
  id: string;
  timestamp: string;
  version: number | null;
  name: string | null;
  /** clawback-bundle/1, or nemoclaw-v1 for a bundle NemoClaw wrote (null when the manifest is unreadable). */
  format: string | null;
  /** Whether file contents were checked against recorded sha256s; a NemoClaw bundle records none. */
  hashes: boolean;
  ok: boolean;
  files: number;
  bytes: number;
  problems: VerifyProblem[];
  durationMs: number;
}

export interface VerifySummary {
  sandbox: string;
  ok: boolean;
  bundles: BundleVerification[];
  /** `.partial` bundles a live clawback is writing under the sandbox lock: in progress, not checked and not damage. */
  inProgress: string[];
  files: number;
  bytes: number;
  /** Worker threads that hashed; 0 when every file was hashed on the calling thread. */
  threads: number;
  durationMs: number;
}

/**
 * Below this many payload bytes a bundle is hashed on the calling thread. Measured here:
 * two workers take 100–180 ms to start on a busy 2-core VM and add ~25 % CPU, so on the
 * medium home (65 MB) they cost twice the time; only large bundles can win it back.
 */
const WORKER_MIN_BYTES = 128 * 1024 * 1024;

export async function verifySnapshots(request: VerifyRequest, deps: EngineDeps): Promise<VerifySummary> {
  if (request.all && request.selector !== undefined) {
    throw new UsageError('give a selector or --all, not both');
  }
  const started = deps.clock();
  // A NemoClaw bundle is checked by its own walk (nemoclaw.ts): no inventory is read through the records.
  const records = headerRecords(request.sandbox, deps);
  const chosen = request.all ? records : [resolveSelector(records, request.selector ?? 'latest', request.sandbox)];
  // A `.partial` is a leftover only when no live process holds the lock it is written under.
  const held = chosen.some((r) => r.id.endsWith(PARTIAL_SUFFIX)) && lockIsHeld(deps.layout.locks, request.sandbox, deps.host);
  const inProgress = held ? chosen.filter((r) => r.id.endsWith(PARTIAL_SUFFIX)).map((r) => r.id) : [];
  const targets = chosen.filter((r) => !inProgress.includes(r.id));
  const threads = request.threads ?? defaultThreads(deps.host.parallelism);
  const pool = new HasherPool(threads, request.parallelFromBytes ?? WORKER_MIN_BYTES);
  pool.release(targets.map((r) => r.header?.totals.bytes ?? 0));
  const bundles: BundleVerification[] = [];
  try {
    for (const record of targets) bundles.push(await verifyBundle(record, pool, deps, request.unhashed));
  } finally {
    await pool.close();
  }
  return {
    sandbox: request.sandbox,
    ok: bundles.every((b) => b.ok),
    bundles,
    inProgress,
    files: bundles.reduce((sum, b) => sum + b.files, 0),
    bytes: bundles.reduce((sum, b) => sum + b.bytes, 0),
    threads: pool.used ? threads : 0,
    durationMs: deps.clock() - started,
  };
}

/**
 * A bundle staged outside the listing (a pull's `<timestamp>.partial`), checked as a complete one
 * would be: its tree, hashes and databases against its own manifest.
 */
export async function verifyStagedBundle(dir: string, timestamp: string, deps: EngineDeps): Promise<BundleVerification> {
  const record = {
    id: timestamp, shortId: '', dir, timestamp, time: undefined, state: 'complete', version: undefined, header: undefined,
    payloadDir: bundlePayloadDir(dir), legacy: undefined, manifest: undefined, problem: undefined,
  } satisfies BundleRecord;
  const pool = new HasherPool(defaultThreads(deps.host.parallelism), WORKER_MIN_BYTES);
  try {
    return await verifyBundle(record, pool, deps);
  } finally {
    await pool.close();
  }
}

/**
 * One bundle: the payload is walked and its files handed to the hashing workers as they are
 * found, so they hash while this thread walks, then parses the manifest and compares the tree.
 * Hashes and quick_check answers are then matched to the manifest, and its contentSha256 checked.
 */
async function verifyBundle(record: BundleRecord, pool: HasherPool, deps: EngineDeps, unhashed?: UnhashedFiles): Promise<BundleVerification> {
  const started = deps.clock();
  const result = unverified(record);
  const finish = (): BundleVerification => finished(result, record, deps.clock() - started);
  const problems = result.problems;
  if (record.state !== 'complete') {
    problems.push(
      record.state === 'corrupt'
        ? { path: MANIFEST_FILE, problem: record.problem?.message ?? 'unreadable manifest' }
        : { path: '', problem: 'incomplete: the snapshot never finished (delete it, or let prune remove it)' },
    );
    return finish();
  }
  if (record.legacy !== undefined) {
    // Loaded only for such a bundle: it brings better-sqlite3, which a clawback bundle's verify loads only on the thread that checks a database.
    const { checkNemoClawBundle } = await import('./nemoclaw.js');
    const checked = checkNemoClawBundle(record.dir, record.legacy, path.dirname(record.dir), deps.host.pid);
    Object.assign(result, { files: checked.files, bytes: checked.bytes, hashes: false });
    problems.push(...checked.problems);
    return finish();
  }
  const payload = record.payloadDir;
  // Workers boot while the payload is walked, and hash its files as the walk finds them.
  pool.warm(result.bytes);
  deps.events.phase?.(`verify ${record.id}`, { files: result.files, bytes: result.bytes });
  const hashing = pool.begin(payload, result.bytes, result.files, deps);
  const { found, paths, quickChecked, skipped } = handOut(record, payload, hashing, unhashed);
  if (found === undefined) problems.push({ path: 'payload', problem: 'the payload directory is missing' });
  const expected = new ExpectedFiles(paths);
  const unread = unhashedMarks(paths.length, skipped, unhashed);
  try {
    // Streamed here rather than read through the record, which would keep every inventory of --all in memory.
    compareTree(openInventory(record.dir, record.header), payload, found, problems, result, expected, unread?.onFile);
  } catch (error) {
    if (!(error instanceof ClawbackError)) throw error;
    // A checksum over entries all read still lets every file be checked against them; anything else stops here.
    const checksum = error.code === 'manifest-checksum';
    problems.push({ path: MANIFEST_FILE, problem: checksum ? 'contentSha256 does not match the entries (the inventory was edited or damaged)' : error.message });
    if (!checksum) {
      await hashing.finish();
      return finish();
    }
  }
  found?.clear();
  // This thread hashes the batches no worker has taken yet, then waits for the workers.
  const outcomes = await hashing.finish();
  if (found !== undefined) await checkHashes(expected, outcomes, payload, pool, problems, { quickChecked, ...(unread !== undefined ? { unread: unread.marks } : {}) });
  return finish();
}

/** The record's own view, before anything is checked: its header's totals. */
function unverified(record: BundleRecord): BundleVerification {
  return {
    id: record.id,
    timestamp: record.timestamp,
    version: record.version ?? null,
    name: record.header?.name ?? null,
    format: record.header?.format ?? null,
    hashes: record.legacy === undefined,
    ok: false,
    files: record.header?.totals.files ?? 0,
    bytes: record.header?.totals.bytes ?? 0,
    problems: [],
    durationMs: 0,
  };
}

function finished(result: BundleVerification, record: BundleRecord, durationMs: number): BundleVerification {
  if (!fs.existsSync(record.dir)) result.problems = [{ path: '', problem: 'the bundle was deleted while it was being verified' }];
  result.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  result.ok = result.problems.length === 0;
  result.durationMs = durationMs;
  return result;
}

/**
 * Each file's hash (and, for a database, its quick_check) against its entry. A database copy whose
 * bytes are not the manifest's is named with what SQLite makes of it. One handed out without a
 * quick_check (`quickChecked`) is that very copy when its bytes hash to both its entry's sha256 and
 * the one its header recorded it quick_checked at; else it is quick_checked here.
 */
async function checkHashes(expected: ExpectedFiles, outcomes: OutcomeTable, payload: string, pool: HasherPool, problems: VerifyProblem[], marks: { quickChecked: ReadonlyMap<number, string>; unread?: Uint8Array }): Promise<void> {
  const { quickChecked, unread } = marks;
  for (let index = 0; index < expected.count; index++) {
    const entry = expected.matches(index, outcomes) ? undefined : expected.get(index);
    if (entry === undefined || unread?.[index] === UNREAD) continue;
    let outcome = unread?.[index] === HASH_LATE ? pool.recheck(`${payload}/${entry.path}`, { index, kind: 'missing' }) : outcomes.get(index)!;
    // Workers stop at a short read; before calling a file damaged, read it again to its very end.
    if (hashProblem(entry, outcome) !== undefined) outcome = pool.recheck(`${payload}/${entry.path}`, outcome);
    const database = entry.strategy === 'sqlite_backup' && outcome.kind === 'hashed' ? outcome : undefined;
    const damage = hashProblem(entry, outcome);
    const problem = damage !== undefined && database !== undefined ? `${damage}; ${database.databaseProblem ?? (await sqliteVerdict(`${payload}/${entry.path}`))}` : damage ?? database?.databaseProblem;
    if (problem) problems.push({ path: entry.path, problem });
  }
  for (const [index, sha256] of quickChecked) {
    const entry = expected.get(index);
    if (entry?.strategy !== 'sqlite_backup' || !expected.matches(index, outcomes) || entry.sha256 === sha256) continue;
    const problem = await databaseProblem(`${payload}/${entry.path}`);
    if (problem !== undefined) problems.push({ path: entry.path, problem });
  }
}

/**
 * The walked tree against the inventory, streamed: reports missing, extra and mistyped paths and
 * wrong link targets, counts the files and bytes the entries list (not the header's totals,
 * which could be edited), and records in `files` the file entries whose hashes are to be checked. Below a
 * missing, extra or mistyped directory, only that directory is reported. `found` keeps only
 * what the inventory does not list.
 */
function compareTree(inventory: Inventory, payload: string, found: Map<string, number> | undefined, problems: VerifyProblem[], counts: BundleVerification, files: ExpectedFiles, onFile?: (index: number, entry: BundleEntry) => void): void {
  const unreported = (rel: string, skip: Set<string>): boolean => {
    for (let slash = rel.lastIndexOf('/'); slash > 0; slash = rel.lastIndexOf('/', slash - 1)) {
      if (skip.has(rel.slice(0, slash))) return false;
    }
    return true;
  };
  counts.files = 0;
  counts.bytes = 0;
  const broken = new Set<string>();
  for (const entry of inventory.entries()) {
    if (entry.type === 'file') {
      counts.files++;
      counts.bytes += entry.size ?? 0;
    }
    if (found === undefined) continue;
    const code = found.get(entry.path);
    const type = code === undefined ? undefined : foundType(code);
    found.delete(entry.path);
    if (type === entry.type) {
      if (type === 'file') {
        files.expect(code!, entry);
        onFile?.(code!, entry);
      } else if (type === 'symlink') {
        const target = readLinkTarget(`${payload}/${entry.path}`);
        if (target !== entry.target) problems.push({ path: entry.path, problem: `points to ${JSON.stringify(target)}, the manifest says ${JSON.stringify(entry.target)}` });
      }
      continue;
    }
    broken.add(entry.path);
    if (!unreported(entry.path, broken)) continue;
    problems.push({
      path: entry.path,
      problem: type === undefined ? `missing (${TYPE_WORDS[entry.type]} in the manifest)` : `is ${TYPE_WORDS[type]}, the manifest says ${TYPE_WORDS[entry.type]}`,
    });
  }
  // What is left on disk is what the inventory does not list.
  const extra = new Set<string>();
  for (const [rel, code] of found ?? []) {
    const type = foundType(code);
    extra.add(rel);
    if (unreported(rel, extra) && unreported(rel, broken)) problems.push({ path: rel, problem: `${TYPE_WORDS[type]} that the manifest does not list` });
  }
}

function shortHash(sha: string): string {
  return sha.slice(0, 12);
}

function hashProblem(entry: FileEntry, outcome: HashOutcome): string | undefined {
  switch (outcome.kind) {
    case 'missing':
      return 'missing';
    case 'not-a-file':
      return 'is not a regular file';
    case 'unreadable':
      return `unreadable (${outcome.code})`;
    case 'hashed':
      if (outcome.size !== entry.size) return `size is ${outcome.size} bytes, the manifest says ${entry.size}`;
      if (outcome.sha256 !== entry.sha256) return `content differs: sha256 ${shortHash(outcome.sha256)}…, the manifest says ${shortHash(entry.sha256)}…`;
      return undefined;
  }
}

