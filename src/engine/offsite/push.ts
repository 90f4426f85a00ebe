import { InterruptedError, UsageError } from '../../errors.js';
import { completeBundles, type BundleRecord } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { resolveSelector } from '../../store/selector.js';
import { sandboxRecords } from '../bundle/find.js';
import type { EngineDeps } from '../deps.js';
import { sandboxLock } from '../sandbox/lock.js';
import { BundleBackup, identity, type Parent, type PushedBundle } from './backup.js';
import { listingAfter, readPushRecord, snapshotFiles, writePushRecord, type Listed } from './push-record.js';
import { listRemoteBundles } from './remote.js';
import type { Restic } from './restic.js';

export interface PushRequest {
  sandbox: string;
  /** Bundles to push; none means `latest`. */
  selectors: string[];
  /** Every complete bundle (those the repository holds already are not pushed again). */
  all: boolean;
  /** The complete bundles the repository does not hold yet (found by their `bundle=` tags). */
  missing: boolean;
}

export type { PushedBundle } from './backup.js';

export interface PushSummary {
  sandbox: string;
  repo: string;
  bundles: PushedBundle[];
  pushed: number;
  present: number;
}

/**
 * Pushes bundles, each as one restic snapshot of its directory with relative paths, under the
 * sandbox lock (so no prune removes a bundle while it is read). Each bundle is checked first: a
 * damaged bundle is never copied off the machine. The check hashes what restic will read (unread.ts
 * says why the rest need not be hashed). For a single bundle, three things run side by side: restic
 * lists the repository, the bundle is checked, and its `restic backup` starts held at a gate
 * (restic.ts, GatedRun) with the parent this host recorded (push-record.ts), so that its start (the
 * repository key's KDF) costs no time. The gate opens only once the check passed and the listing
 * confirmed the parent; otherwise that restic is stopped before it read anything, and the bundle is
 * checked again against the repository's parent if that differs, and backed up after.
 */
export async function pushSnapshots(request: PushRequest, restic: Restic, deps: EngineDeps): Promise<PushSummary> {
  const records = sandboxRecords(request.sandbox, deps);
  const targets = chooseTargets(request, records);
  const lock = sandboxLock(deps, request.sandbox, 'snapshot push');
  restic.cancelOn(deps.signal);
  const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
  let head: HeadStart | undefined;
  try {
    const repository = restic.repo.repository;
    // A local repository's snapshot files as they were before anything else: what the next push's record is checked against.
    const filesBefore = snapshotFiles(repository);
    const recorded = readPushRecord(sandboxDir, repository, filesBefore);
    const known = recorded.listing;
    const first = targets.length === 1 ? targets[0] : undefined;
    const pushedHere = known !== undefined ? known.filter((b) => b.hostname === deps.host.hostname) : recorded.pushed;
    // The held backup is spawned first, then the listing: their starts (each a KDF) are the longest waits.
    head = first === undefined ? undefined : headStart(request.sandbox, first, records, pushedHere, restic, deps);
    // Without restic's lock: the backup takes it, and a repository locked exclusively is reported there.
    // A recorded listing still needs restic there (its version checked, ~10 ms), as a listing would.
    const listing: Promise<Listed[]> = known !== undefined ? restic.checkVersion().then(() => known) : listRemoteBundles(restic, request.sandbox, { noLock: true });
    // Begun once both restics are spawned: its walk holds this thread.
    const checked = head?.check();
    deps.fault?.('push:started');
    // The listing's failure (restic missing, wrong password, no repository) is the one to report.
    const [listedOutcome, earlyOutcome] = await interruptible(Promise.allSettled([listing, checked]), deps.signal);
    if (listedOutcome.status === 'rejected') throw listedOutcome.reason;
    const listed = listedOutcome.value;
    const remote = new Map(listed.map((b) => [b.timestamp, b]));
    const parents: Parent[] = listed.filter((b) => b.hostname === deps.host.hostname);
    const bundles: PushedBundle[] = [];
    const made: Listed[] = [];
    for (const record of targets) {
      if (stopped(deps)) throw interrupted();
      const held = remote.get(record.timestamp);
      if (held) {
        bundles.push({ ...identity(record), status: 'present', snapshotId: held.snapshotId, dataAdded: null, filesNew: null, filesChanged: null, filesUnmodified: null, durationMs: 0 });
        continue;
      }
      const parent = parentFor(parents, record.timestamp);
      const parentHere = parent === undefined ? undefined : localComplete(records, parent.timestamp);
      const early = record === first ? head : undefined;
      // Damage found early is damage whatever the parent; a clean check stands only against the parent restic will use.
      if (early && earlyOutcome.status === 'rejected') throw earlyOutcome.reason;
      const gated = early?.backup !== undefined && sameParent(early.backup.parent, parent) ? early.backup : undefined;
      if (gated === undefined) {
        // That restic fails having read nothing, beside the new one (both take shared locks); awaited below.
        void early?.backup?.gate?.cancel();
        if (early === undefined || early.checkedAgainst?.timestamp !== parentHere?.timestamp) await assertIntact(request.sandbox, record, parentHere, deps);
      }
      if (stopped(deps)) throw interrupted();
      const pushed = await (gated ?? new BundleBackup(request.sandbox, record, parent, restic, deps, false)).finish();
      parents.push({ timestamp: record.timestamp, snapshotId: pushed.snapshotId });
      made.push({ timestamp: record.timestamp, snapshotId: pushed.snapshotId, hostname: deps.host.hostname });
      bundles.push(pushed);
    }
    writePushRecord(sandboxDir, repository, parents, listingAfter(repository, filesBefore, listed, made));
    return {
      sandbox: request.sandbox,
      repo: restic.repo.name,
      bundles,
      pushed: bundles.filter((b) => b.status === 'pushed').length,
      present: bundles.filter((b) => b.status === 'present').length,
    };
  } finally {
    // A held restic not let through is stopped, and awaited: no restic process (nor its lock) outlives the push.
    await head?.backup?.gate?.cancel();
    lock.release();
  }
}

/** What a single bundle's push starts before the listing answers: its backup held at the gate, and its check. */
interface HeadStart {
  /** Begins the check (called once). */
  check: () => Promise<void>;
  /** The local bundle the check compared with (unread.ts); none: every file hashed. */
  checkedAgainst: BundleRecord | undefined;
  /** The held backup (none: the parent cannot be guessed, so the backup waits for the listing). */
  backup: BundleBackup | undefined;
}

/**
 * The parent guessed from this host's record of what it pushed to the repository. Without a
 * record, the check compares with the bundle before this one here, as the repository's parent will
 * most likely be its snapshot; only when there is none (the first push of the sandbox) does the
 * backup start held without a parent, the check then hashing every file either way.
 */
function headStart(sandbox: string, record: BundleRecord, records: BundleRecord[], pushed: Parent[] | undefined, restic: Restic, deps: EngineDeps): HeadStart {
  if (record.legacy !== undefined) return { check: () => assertIntact(sandbox, record, undefined, deps), checkedAgainst: undefined, backup: undefined };
  const guess = pushed === undefined ? undefined : parentFor(pushed, record.timestamp);
  const before = localBefore(records, record.timestamp);
  const checkedAgainst = pushed === undefined ? before : guess === undefined ? undefined : localComplete(records, guess.timestamp);
  const gated = pushed !== undefined || before === undefined;
  const backup = gated ? new BundleBackup(sandbox, record, guess, restic, deps, true) : undefined;
  return { check: () => assertIntact(sandbox, record, checkedAgainst, deps), checkedAgainst, backup };
}

/** The same restic snapshot (restic's summary names a new one by its short id, the listing by the full one). */
function sameParent(a: Parent | undefined, b: Parent | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const [short, long] = a.snapshotId.length <= b.snapshotId.length ? [a.snapshotId, b.snapshotId] : [b.snapshotId, a.snapshotId];
  return a.timestamp === b.timestamp && short.length >= 8 && long.startsWith(short);
}

/** Ctrl-C was pressed (the command took interrupts over). */
function stopped(deps: EngineDeps): boolean {
  return deps.signal?.aborted === true;
}

function interrupted(): InterruptedError {
  return new InterruptedError('interrupted: the push stopped; the repository holds no snapshot of a bundle restic had not finished');
}

/** `work`, or an interruption as soon as Ctrl-C arrives (the restic processes get it too: Restic.cancelOn). */
async function interruptible<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) throw interrupted();
  let stop: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(interrupted());
    signal.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', stop!);
  }
}

function chooseTargets(request: PushRequest, records: BundleRecord[]): BundleRecord[] {
  const chosen = [request.all, request.missing, request.selectors.length > 0].filter(Boolean).length;
  if (chosen > 1) throw new UsageError('give selectors, --all or --missing: one of them', { hint: 'without any, the latest snapshot is pushed' });
  // NemoClaw's own bundles record no hashes: only an explicit selector names one (and is refused).
  if (request.all || request.missing) return completeBundles(records).filter((r) => r.legacy === undefined);
  const selectors = request.selectors.length > 0 ? request.selectors : ['latest'];
  const seen = new Set<string>();
  return selectors.map((s) => resolveSelector(records, s, request.sandbox)).filter((r) => !seen.has(r.id) && seen.add(r.id));
}

/** The complete clawback bundle here with this timestamp (a parent's files are compared with it). */
function localComplete(records: BundleRecord[], timestamp: string): BundleRecord | undefined {
  return completeBundles(records).find((r) => r.timestamp === timestamp && r.legacy === undefined);
}

/** The newest complete clawback bundle here before `timestamp`: the likely parent, until the repository says. */
function localBefore(records: BundleRecord[], timestamp: string): BundleRecord | undefined {
  return completeBundles(records)
    .filter((r) => r.legacy === undefined && r.timestamp < timestamp)
    .sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1))
    .at(-1);
}

/**
 * The restic snapshot restic compares a new bundle with: the newest one pushed from this host before
 * it (else the newest at all). Unchanged files of a bundle are hard links to the previous bundle's, so
 * they have its inode, size and mtime: restic then skips reading them (`--ignore-ctime`, since making
 * a hard link changes the inode's ctime). Only this host's: an inode number means nothing elsewhere.
 */
function parentFor(parents: Parent[], timestamp: string): Parent | undefined {
  const sorted = [...parents].sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
  return sorted.filter((p) => p.timestamp < timestamp).at(-1) ?? sorted.at(-1);
}

/**
 * The check (check.ts), its modules loaded on first use: verify's walk, hashing pool and inventory
 * readers then load while the held restic starts, rather than before it is spawned.
 */
let checkModule: Promise<typeof import('./check.js')> | undefined;
function assertIntact(sandbox: string, record: BundleRecord, parent: BundleRecord | undefined, deps: EngineDeps): Promise<void> {
  checkModule ??= import('./check.js');
  return checkModule.then((check) => check.assertIntact(sandbox, record, parent, deps));
}
