import type { BundleEntry } from '../../manifest/bundle-manifest.js';

/*
 * What verify knows of each payload file, by the file's index (its place in the payload walk),
 * held in typed arrays rather than an object per file: memory stays near flat whatever the file
 * count, and the outcomes cross from the workers as a few buffers per batch.
 */

const DIGEST = 32;
/** A digest as 32-bit words, for comparing two without a call into Buffer.compare per file. */
const WORDS = DIGEST / 4;

/** `count` digests: bytes (for hex in and out) and the same memory as words (for comparing). */
function digestTable(count: number): { bytes: Buffer; words: Uint32Array } {
  const memory = new ArrayBuffer(DIGEST * count);
  return { bytes: Buffer.from(memory), words: new Uint32Array(memory) };
}

/** Whether digest `a` of `left` equals digest `b` of `right`. */
function sameDigest(left: Uint32Array, a: number, right: Uint32Array, b: number): boolean {
  const x = a * WORDS;
  const y = b * WORDS;
  for (let k = 0; k < WORDS; k++) if (left[x + k] !== right[y + k]) return false;
  return true;
}

/** What a verify hashing worker is told it is (workerData.role); here, in a module the worker loads anyway. */
export const WORKER_ROLE = 'clawback-verify-hasher';

export interface Hashed {
  index: number;
  kind: 'hashed';
  size: number;
  sha256: string;
  /** The file starts with the SQLite header. */
  database?: true;
  /** What quick_check found, when it ran and did not answer ok. */
  databaseProblem?: string;
}

export type HashOutcome =
  | Hashed
  | { index: number; kind: 'missing' }
  | { index: number; kind: 'not-a-file' }
  | { index: number; kind: 'unreadable'; code: string };

/** One batch's outcomes, packed: sizes and sha256s of files first..first+n-1; what is not a plain hash in `special`. */
export interface PackedBatch {
  first: number;
  sizes: Float64Array;
  digests: Uint8Array;
  /** Outcomes that are not a plain hash: missing, unreadable, not a file, or a database quick_check problem. */
  special: HashOutcome[];
  /** What quick_check found in files this batch checked but did not hash (a 'check' batch). */
  checks?: DatabaseProblem[];
}

/** quick_check's answer for the file at `index`, when it is not ok. */
export interface DatabaseProblem {
  index: number;
  problem: string;
}

/** Packs a batch's outcomes, which are in index order from `first`. */
export function packBatch(first: number, outcomes: readonly HashOutcome[]): PackedBatch {
  const sizes = new Float64Array(outcomes.length);
  const digests = Buffer.alloc(DIGEST * outcomes.length);
  const special: HashOutcome[] = [];
  outcomes.forEach((outcome, k) => {
    if (outcome.kind !== 'hashed' || outcome.databaseProblem !== undefined) special.push(outcome);
    if (outcome.kind !== 'hashed') return;
    sizes[k] = outcome.size;
    digests.write(outcome.sha256, DIGEST * k, DIGEST, 'hex');
  });
  return { first, sizes, digests, special };
}

/** The hash outcomes of one run, by file index. */
export class OutcomeTable {
  private sizes = new Float64Array(0);
  private digests = Buffer.alloc(0);
  private words = new Uint32Array(0);
  private seen = new Uint8Array(0);
  private readonly special = new Map<number, HashOutcome>();
  private readonly checks = new Map<number, string>();

  /** Stores a batch; gives its file count and hashed bytes (for progress). */
  put(batch: PackedBatch): { files: number; bytes: number } {
    const count = batch.sizes.length;
    this.reserve(batch.first + count);
    this.sizes.set(batch.sizes, batch.first);
    this.digests.set(batch.digests, DIGEST * batch.first);
    this.seen.fill(1, batch.first, batch.first + count);
    let bytes = 0;
    for (const size of batch.sizes) bytes += size;
    for (const outcome of batch.special) this.special.set(outcome.index, outcome);
    for (const { index, problem } of batch.checks ?? []) this.checks.set(index, problem);
    return { files: count, bytes };
  }

  get(index: number): HashOutcome | undefined {
    const outcome = this.special.get(index) ?? this.plain(index);
    const problem = this.checks.get(index);
    // A database checked by a batch of its own: its answer joins the hash.
    if (problem !== undefined && outcome?.kind === 'hashed' && outcome.databaseProblem === undefined) return { ...outcome, databaseProblem: problem };
    return outcome;
  }

  /** Whether the file at `index` was hashed, plainly (no other outcome, no quick_check problem), to `size` bytes and the sha256 that is digest `at` of `words`. */
  plainEquals(index: number, size: number, words: Uint32Array, at: number): boolean {
    if (this.seen[index] !== 1 || this.sizes[index] !== size || !sameDigest(this.words, index, words, at)) return false;
    return (this.special.size === 0 || !this.special.has(index)) && (this.checks.size === 0 || !this.checks.has(index));
  }

  private plain(index: number): HashOutcome | undefined {
    if (this.seen[index] !== 1) return undefined;
    return { index, kind: 'hashed', size: this.sizes[index]!, sha256: this.digests.toString('hex', DIGEST * index, DIGEST * (index + 1)) };
  }

  private reserve(count: number): void {
    if (count <= this.seen.length) return;
    const capacity = Math.max(count, this.seen.length * 2, 1024);
    const sizes = new Float64Array(capacity);
    sizes.set(this.sizes);
    const { bytes: digests, words } = digestTable(capacity);
    this.digests.copy(digests);
    const seen = new Uint8Array(capacity);
    seen.set(this.seen);
    Object.assign(this, { sizes, digests, words, seen });
  }
}

/** A file entry whose hash is to be checked: what checking needs of it. */
export type FileEntry = BundleEntry & { size: number; sha256: string; index: number };

const CHECK = 1;
const DATABASE = 2;

/** The manifest's file entries to check against the outcomes, by file index. */
export class ExpectedFiles {
  private readonly sizes: Float64Array;
  private readonly digests: Buffer;
  private readonly words: Uint32Array;
  private readonly flags: Uint8Array;
  readonly count: number;

  /** `paths`: every payload file's path, by index (the walk's strings: the manifest's die young). */
  constructor(private readonly paths: readonly string[]) {
    this.count = paths.length;
    this.sizes = new Float64Array(this.count);
    ({ bytes: this.digests, words: this.words } = digestTable(this.count));
    this.flags = new Uint8Array(this.count);
  }

  /** The walk found `entry` as a file at `index`: its hash is to be checked. */
  expect(index: number, entry: BundleEntry): void {
    this.sizes[index] = entry.size ?? 0;
    this.digests.write(entry.sha256 ?? '', DIGEST * index, DIGEST, 'hex');
    this.flags[index] = CHECK | (entry.strategy === 'sqlite_backup' ? DATABASE : 0);
  }

  /**
   * Whether the file at `index` is to be checked and was hashed to exactly its recorded size and
   * sha256 with nothing else to say: the common case, compared as bytes, with no objects built.
   */
  matches(index: number, outcomes: OutcomeTable): boolean {
    return (this.flags[index]! & CHECK) !== 0 && outcomes.plainEquals(index, this.sizes[index]!, this.words, index);
  }

  get(index: number): FileEntry | undefined {
    const flags = this.flags[index]!;
    if ((flags & CHECK) === 0) return undefined;
    const entry: FileEntry = {
      path: this.paths[index]!, type: 'file', module: '', size: this.sizes[index]!, index,
      sha256: this.digests.toString('hex', DIGEST * index, DIGEST * (index + 1)),
    };
    if ((flags & DATABASE) !== 0) entry.strategy = 'sqlite_backup';
    return entry;
  }
}
