import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ClawbackError, UsageError } from '../errors.js';
import { assertContentChecksum, MANIFEST_FILE, type BundleEntry, type BundleManifest } from '../manifest/bundle-manifest.js';
import { bundlePayloadDir, readBundleManifest, type BundleRecord } from '../store/bundles.js';
import { resolveSelector } from '../store/selector.js';
import type { EngineDeps, Progress } from './deps.js';
import { sandboxRecords } from './snapshot-list.js';
import { FileHasher, loadDatabaseChecker, WORKER_ROLE, type DatabaseChecker, type HashJob, type HashOutcome } from './verify-worker.js';

export interface VerifyRequest {
  sandbox: string;
  /** Default: latest. */
  selector?: string;
  /** Every bundle of the sandbox; partial and corrupt ones count as damage. */
  all?: boolean;
  /** Hashing worker threads; default one per core (at most 4, none on one core); 0 hashes on the calling thread. */
  threads?: number;
  /** A bundle with fewer payload bytes is hashed on the calling thread (default 48 MiB: below it, starting workers costs more). */
  parallelFromBytes?: number;
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
  files: number;
  bytes: number;
  /** Worker threads that hashed; 0 when every file was hashed on the calling thread. */
  threads: number;
  durationMs: number;
}

/** Below this many payload bytes, starting workers costs more than it saves (measured: ~25 ms per worker). */
const WORKER_MIN_BYTES = 48 * 1024 * 1024;
const BATCH_FILES = 256;
const BATCH_BYTES = 8 * 1024 * 1024;
const MAX_THREADS = 4;

export async function verifySnapshots(request: VerifyRequest, deps: EngineDeps): Promise<VerifySummary> {
  if (request.all && request.selector !== undefined) {
    throw new UsageError('give a selector or --all, not both');
  }
  const started = Date.now();
  const records = sandboxRecords(request.sandbox, deps);
  const targets = request.all ? records : [resolveSelector(records, request.selector ?? 'latest', request.sandbox)];
  const threads = request.threads ?? defaultThreads();
  const pool = new HasherPool(threads, request.parallelFromBytes ?? WORKER_MIN_BYTES);
  const bundles: BundleVerification[] = [];
  try {
    for (const record of targets) bundles.push(await verifyBundle(record, pool, deps));
  } finally {
    await pool.close();
  }
  return {
    sandbox: request.sandbox,
    ok: bundles.every((b) => b.ok),
    bundles,
    files: bundles.reduce((sum, b) => sum + b.files, 0),
    bytes: bundles.reduce((sum, b) => sum + b.bytes, 0),
    threads: pool.used ? threads : 0,
    durationMs: Date.now() - started,
  };
}

function defaultThreads(): number {
  const cores = os.availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, MAX_THREADS);
}

async function verifyBundle(record: BundleRecord, pool: HasherPool, deps: EngineDeps): Promise<BundleVerification> {
  const started = Date.now();
  const result: BundleVerification = {
    id: record.id,
    timestamp: record.timestamp,
    version: record.version ?? null,
    name: record.header?.name ?? null,
    ok: false,
    files: 0,
    bytes: 0,
    problems: [],
    durationMs: 0,
  };
  let manifest: BundleManifest | undefined;
  if (record.state === 'complete') {
    // Workers boot while the inventory is parsed.
    pool.prepare(record.header?.totals.bytes ?? 0, record.header?.totals.files ?? 0);
    try {
      // Read here rather than through the record, which would keep every inventory of --all in memory.
      manifest = readBundleManifest(record.dir);
    } catch (error) {
      if (!(error instanceof ClawbackError)) throw error;
      result.problems.push({ path: MANIFEST_FILE, problem: error.message });
    }
  } else {
    result.problems.push(
      record.state === 'corrupt'
        ? { path: MANIFEST_FILE, problem: record.problem?.message ?? 'unreadable manifest' }
        : { path: '', problem: 'incomplete: the snapshot never finished (delete it, or let prune remove it)' },
    );
  }
  if (manifest === undefined) {
    result.durationMs = Date.now() - started;
    return result;
  }
  const problems = result.problems;
  try {
    assertContentChecksum(manifest, MANIFEST_FILE);
  } catch (error) {
    if (!(error instanceof ClawbackError)) throw error;
    problems.push({ path: MANIFEST_FILE, problem: 'contentSha256 does not match the entries (the inventory was edited or damaged)' });
  }
  const payload = bundlePayloadDir(record.dir);
  for (const entry of manifest.entries) {
    if (entry.type !== 'file') continue;
    result.files++;
    result.bytes += entry.size ?? 0;
  }

  if (!fs.lstatSync(payload, { throwIfNoEntry: false })?.isDirectory()) {
    problems.push({ path: 'payload', problem: 'the payload directory is missing' });
  } else {
    const toHash = checkTree(manifest.entries, payload, problems);
    deps.events.phase?.(`verify ${record.id}`, { files: result.files, bytes: result.bytes });
    const outcomes = await pool.hash(toHash, payload, result.bytes, deps);
    for (const [i, outcome] of outcomes.entries()) {
      const entry = toHash[i]!;
      const problem = hashProblem(entry, outcome) ?? (outcome.kind === 'hashed' ? outcome.databaseProblem : undefined);
      if (problem) problems.push({ path: entry.path, problem });
    }
  }
  if (!fs.existsSync(record.dir)) {
    result.problems = [{ path: '', problem: 'the bundle was deleted while it was being verified' }];
  }
  result.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  result.ok = result.problems.length === 0;
  result.durationMs = Date.now() - started;
  return result;
}

type FileEntry = BundleEntry & { size: number; sha256: string };
type FoundType = 'file' | 'dir' | 'symlink' | 'other';

const TYPE_WORDS: Record<FoundType, string> = { file: 'a file', dir: 'a directory', symlink: 'a symlink', other: 'a special file' };

/** Entry paths are checked normalised relative POSIX paths, so plain concatenation is safe (and path.join costs ~4 µs a file). */
function payloadFile(payload: string, entry: BundleEntry): string {
  return `${payload}/${entry.path}`;
}

function direntType(dir: string, dirent: fs.Dirent): FoundType {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isSymbolicLink()) return 'symlink';
  // Some filesystems give no d_type; ask lstat then.
  const stat = fs.lstatSync(path.join(dir, dirent.name));
  return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
}

/**
 * Walks the payload once (readdir with d_type, no stat per file) against the manifest:
 * reports extra, missing and mistyped paths and wrong link targets, and returns the
 * files left to hash. Below an extra or mistyped directory, only that directory is reported.
 */
function checkTree(entries: readonly BundleEntry[], payload: string, problems: VerifyProblem[]): FileEntry[] {
  const byPath = new Map<string, number>();
  for (const [i, entry] of entries.entries()) byPath.set(entry.path, i);
  const seen = new Uint8Array(entries.length);
  const mistyped = new Set<number>();
  const toHash: FileEntry[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const dirent of fs.readdirSync(dir, { withFileTypes: true })) {
      const childRel = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      const full = `${dir}/${dirent.name}`;
      const type = direntType(dir, dirent);
      const index = byPath.get(childRel);
      if (index === undefined) {
        problems.push({ path: childRel, problem: `${TYPE_WORDS[type]} that the manifest does not list` });
        continue;
      }
      seen[index] = 1;
      const entry = entries[index]!;
      if (type !== entry.type) {
        mistyped.add(index);
        problems.push({ path: childRel, problem: `is ${TYPE_WORDS[type]}, the manifest says ${TYPE_WORDS[entry.type]}` });
      } else if (type === 'dir') {
        walk(full, childRel);
      } else if (type === 'file') {
        toHash.push(entry as FileEntry);
      } else if (type === 'symlink') {
        const target = fs.readlinkSync(full);
        if (target !== entry.target) problems.push({ path: childRel, problem: `points to ${JSON.stringify(target)}, the manifest says ${JSON.stringify(entry.target)}` });
      }
    }
  };
  walk(payload, '');
  for (const [i, entry] of entries.entries()) {
    if (seen[i] === 1) continue;
    // Not reported when an ancestor already is (missing or mistyped).
    const parent = entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : undefined;
    const parentIndex = parent === undefined ? undefined : byPath.get(parent);
    if (parentIndex !== undefined && (seen[parentIndex] === 0 || mistyped.has(parentIndex))) continue;
    problems.push({ path: entry.path, problem: `missing (${TYPE_WORDS[entry.type]} in the manifest)` });
  }
  return toHash;
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

function workerScript(): string | undefined {
  // Running from the TypeScript sources (tests), there is no compiled worker; hash on this thread then.
  const file = fileURLToPath(new URL('./verify-worker.js', import.meta.url));
  return fs.existsSync(file) ? file : undefined;
}

/**
 * Hashes files on worker threads (each one sync reads into its own buffer), handing
 * out batches as workers finish so one large file does not leave a core idle; each
 * worker has two batches in hand so it never waits for the main thread. Database
 * copies are quick_checked by whichever worker hashed them. Small bundles are hashed
 * on the calling thread: starting workers would cost more than it saves.
 */
class HasherPool {
  used = false;
  private workers: Worker[] | undefined;
  private readonly local = new FileHasher();
  private localChecker: Promise<DatabaseChecker> | undefined;

  constructor(
    private readonly threads: number,
    private readonly parallelFromBytes: number,
  ) {}

  /** Start the workers now if a bundle of this size will use them. */
  prepare(bytes: number, files: number): void {
    if (this.worthWorkers(bytes, files)) this.start();
  }

  async hash(files: FileEntry[], payload: string, bytes: number, deps: EngineDeps): Promise<HashOutcome[]> {
    const done: Progress = { files: 0, bytes: 0 };
    const report = (outcomes: HashOutcome[]): void => {
      for (const outcome of outcomes) {
        done.files++;
        done.bytes += files[outcome.index]!.size;
      }
      deps.events.progress?.({ ...done });
    };
    const jobs = (start: number, end: number): HashJob[] => files.slice(start, end).map((entry, i) => jobOf(start + i, entry, payload));
    const workers = this.worthWorkers(bytes, files.length) ? this.start() : undefined;
    if (workers !== undefined) {
      this.used = true;
      return runBatches(workers, batchBounds(files), jobs, files.length, report);
    }
    const check = files.some((e) => e.strategy === 'sqlite_backup') ? await (this.localChecker ??= loadDatabaseChecker()) : undefined;
    const outcomes: HashOutcome[] = [];
    for (const [index, entry] of files.entries()) {
      outcomes.push(this.local.hash(jobOf(index, entry, payload), check));
      if (outcomes.length % BATCH_FILES === 0) report(outcomes.slice(-BATCH_FILES));
    }
    deps.events.progress?.({ files: files.length, bytes });
    return outcomes;
  }

  private worthWorkers(bytes: number, files: number): boolean {
    return this.threads > 0 && files > 1 && bytes >= this.parallelFromBytes;
  }

  private start(): Worker[] | undefined {
    if (this.workers) return this.workers;
    const script = workerScript();
    if (script === undefined) return undefined;
    this.workers = Array.from({ length: this.threads }, () => new Worker(script, { workerData: { role: WORKER_ROLE } }));
    return this.workers;
  }

  async close(): Promise<void> {
    const workers = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function jobOf(index: number, entry: FileEntry, payload: string): HashJob {
  const job: HashJob = { index, file: payloadFile(payload, entry), size: entry.size };
  if (entry.strategy === 'sqlite_backup') {
    job.database = true;
    job.label = entry.path;
  }
  return job;
}

/** Batch boundaries over the file list: a batch ends after BATCH_FILES files or BATCH_BYTES bytes. */
function batchBounds(files: readonly FileEntry[]): number[] {
  const bounds = [0];
  let count = 0;
  let bytes = 0;
  for (const [i, entry] of files.entries()) {
    count++;
    bytes += entry.size;
    if (count >= BATCH_FILES || bytes >= BATCH_BYTES) {
      bounds.push(i + 1);
      count = 0;
      bytes = 0;
    }
  }
  if (bounds.at(-1) !== files.length) bounds.push(files.length);
  return bounds;
}

/** Jobs are built per batch as a worker asks for more, so no list of every path is held at once. */
function runBatches(
  workers: Worker[],
  bounds: number[],
  jobs: (start: number, end: number) => HashJob[],
  count: number,
  report: (outcomes: HashOutcome[]) => void,
): Promise<HashOutcome[]> {
  const batches = bounds.length - 1;
  const outcomes = new Array<HashOutcome>(count);
  return new Promise((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    const cleanup = (): void => {
      for (const worker of workers) {
        worker.removeAllListeners('message');
        worker.removeAllListeners('error');
      }
    };
    const feed = (worker: Worker): void => {
      if (next < batches) {
        inFlight++;
        worker.postMessage(jobs(bounds[next]!, bounds[next + 1]!));
        next++;
      } else if (inFlight === 0) {
        cleanup();
        resolve(outcomes);
      }
    };
    for (const worker of workers) {
      worker.on('message', (answers: HashOutcome[]) => {
        inFlight--;
        for (const answer of answers) outcomes[answer.index] = answer;
        report(answers);
        feed(worker);
      });
      worker.on('error', (error) => {
        cleanup();
        reject(error);
      });
    }
    if (batches === 0) {
      cleanup();
      resolve(outcomes);
      return;
    }
    // Two batches in hand per worker: one to hash, one queued while the answer travels back.
    for (const worker of workers) feed(worker);
    for (const worker of workers) feed(worker);
  });
}
