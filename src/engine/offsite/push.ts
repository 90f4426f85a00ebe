import { IntegrityError, RefusedError, UsageError } from '../../errors.js';
import { completeBundles, type BundleRecord } from '../../store/bundles.js';
import { resolveSelector } from '../../store/selector.js';
import { sandboxRecords } from '../bundle/find.js';
import type { EngineDeps } from '../deps.js';
import { sandboxLock } from '../sandbox/lock.js';
import { verifySnapshots } from '../verify/verify.js';
import { unreadFiles } from './unread.js';
import { CLAWBACK_TAG, labelTag, listRemoteBundles } from './remote.js';
import type { Restic, ResticMessage } from './restic.js';

export interface PushRequest {
  sandbox: string;
  /** Bundles to push; none means `latest`. */
  selectors: string[];
  /** Every complete bundle (those the repository holds already are not pushed again). */
  all: boolean;
  /** The complete bundles the repository does not hold yet (found by their `bundle=` tags). */
  missing: boolean;
}

export interface PushedBundle {
  timestamp: string;
  shortId: string;
  name: string | null;
  /** `pushed` now, or `present`: the repository already held it, so nothing was sent. */
  status: 'pushed' | 'present';
  snapshotId: string;
  /** restic's summary of the backup (null for a bundle already present). */
  dataAdded: number | null;
  filesNew: number | null;
  filesChanged: number | null;
  filesUnmodified: number | null;
  durationMs: number;
}

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
 * says why the rest need not be hashed); for a single bundle it runs while restic lists the
 * repository, against the bundle before it here, and again only if the repository's parent differs.
 */
export async function pushSnapshots(request: PushRequest, restic: Restic, deps: EngineDeps): Promise<PushSummary> {
  const records = sandboxRecords(request.sandbox, deps);
  const targets = chooseTargets(request, records);
  const lock = sandboxLock(deps, request.sandbox, 'snapshot push');
  try {
    // Without restic's lock: the backup takes it, and a repository locked exclusively is reported there.
    const listing = listRemoteBundles(restic, request.sandbox, { noLock: true });
    const first = targets.length === 1 ? targets[0] : undefined;
    const guess = first === undefined ? undefined : localBefore(records, first.timestamp);
    const early = first === undefined ? undefined : assertIntact(request.sandbox, first, guess, deps);
    // The listing's failure (restic missing, wrong password, no repository) is the one to report.
    const [listedOutcome, earlyOutcome] = await Promise.allSettled([listing, early]);
    if (listedOutcome.status === 'rejected') throw listedOutcome.reason;
    const listed = listedOutcome.value;
    const remote = new Map(listed.map((b) => [b.timestamp, b]));
    const parents: Parent[] = listed.filter((b) => b.hostname === deps.host.hostname);
    const bundles: PushedBundle[] = [];
    for (const record of targets) {
      const held = remote.get(record.timestamp);
      if (held) {
        bundles.push({ ...identity(record), status: 'present', snapshotId: held.snapshotId, dataAdded: null, filesNew: null, filesChanged: null, filesUnmodified: null, durationMs: 0 });
        continue;
      }
      const parent = parentFor(parents, record.timestamp);
      const parentHere = parent === undefined ? undefined : localComplete(records, parent.timestamp);
      // Damage found early is damage whatever the parent; a clean check stands only against the parent restic will use.
      if (record === first && earlyOutcome.status === 'rejected') throw earlyOutcome.reason;
      if (record !== first || guess?.timestamp !== parentHere?.timestamp) await assertIntact(request.sandbox, record, parentHere, deps);
      const pushed = await pushOne(request.sandbox, record, parent, restic, deps);
      parents.push({ timestamp: record.timestamp, snapshotId: pushed.snapshotId });
      bundles.push(pushed);
    }
    return {
      sandbox: request.sandbox,
      repo: restic.repo.name,
      bundles,
      pushed: bundles.filter((b) => b.status === 'pushed').length,
      present: bundles.filter((b) => b.status === 'present').length,
    };
  } finally {
    lock.release();
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

interface Parent {
  timestamp: string;
  snapshotId: string;
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

function identity(record: BundleRecord): Pick<PushedBundle, 'timestamp' | 'shortId' | 'name'> {
  return { timestamp: record.timestamp, shortId: record.shortId, name: record.header?.name ?? null };
}

/**
 * Refuses a bundle that does not verify. With a parent bundle here, the files restic will take
 * unread from the parent's snapshot are not hashed (unread.ts), and this thread hashes the rest:
 * they are few after an unchanged re-snapshot, and starting workers would cost more.
 */
async function assertIntact(sandbox: string, record: BundleRecord, parent: BundleRecord | undefined, deps: EngineDeps): Promise<void> {
  if (record.legacy !== undefined) {
    throw new RefusedError('push-legacy-bundle', `${sandbox} snapshot ${record.id} was written by NemoClaw and records no hashes, so a pulled copy could not be verified; it was not pushed`, {
      hint: `take a clawback snapshot (\`clawback ${sandbox} snapshot create\`) and push that`,
    });
  }
  const unread = parent === undefined ? undefined : unreadFiles(record, parent);
  let summary = await verifySnapshots({ sandbox, selector: record.id, ...(unread ? { unhashed: unread, threads: 0 } : {}) }, deps);
  // A parent inventory found damaged at its end cannot vouch for anything: hash every file.
  if (summary.ok && unread !== undefined && !unread.settle()) summary = await verifySnapshots({ sandbox, selector: record.id }, deps);
  const problems = summary.bundles.flatMap((b) => b.problems.map((p) => `${p.path || '(bundle)'}: ${p.problem}`));
  if (summary.ok) return;
  throw new IntegrityError('push-damaged', `${sandbox} snapshot ${record.id} does not verify, so it was not pushed (${problems.length} problem(s))`, {
    details: problems.slice(0, 20),
    hint: `see \`clawback ${sandbox} snapshot verify ${record.id}\`; push a snapshot that verifies`,
  });
}

/**
 * `2026-04-21T14-11-25-795Z` → `2026-04-21 14:11:25.795`: restic's `--time` (Go's parser takes the
 * fraction though the layout has none), read as UTC (TZ=UTC). The restic snapshot then carries the
 * bundle's own time, so `forget --keep-daily` counts the days the bundles were taken, not pushed.
 */
function resticTime(timestamp: string): string {
  return timestamp.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/, '$1 $2:$3:$4.$5');
}

async function pushOne(sandbox: string, record: BundleRecord, parent: Parent | undefined, restic: Restic, deps: EngineDeps): Promise<PushedBundle> {
  const started = deps.clock();
  const label = record.header?.name;
  const args = ['backup', '--json', '--tag', CLAWBACK_TAG, '--tag', `sandbox=${sandbox}`, '--tag', `bundle=${record.timestamp}`];
  if (label) args.push('--tag', labelTag(label));
  if (parent) args.push('--parent', parent.snapshotId, '--ignore-ctime');
  args.push('--host', deps.host.hostname, '--time', resticTime(record.timestamp), '.');
  let summary: ResticMessage | undefined;
  let statusSeen = false;
  deps.events.phase?.(`push ${record.id}`, record.header?.totals);
  deps.fault?.('push:before-backup');
  await restic.run(args, {
    // Relative paths: unchanged files deduplicate across bundles and sandboxes, and a pull restores them as they were.
    cwd: record.dir,
    what: `backup of ${sandbox} ${record.id}`,
    onMessage: (message) => {
      if (message.message_type === 'status') {
        deps.events.progress?.({ files: numberOf(message.files_done) ?? 0, bytes: numberOf(message.bytes_done) ?? 0 });
        if (!statusSeen) deps.fault?.('push:status');
        statusSeen = true;
      } else if (message.message_type === 'summary') summary = message;
      else if (message.message_type === 'error') deps.events.warning?.(`restic: ${describeError(message)}`);
    },
  });
  const snapshotId = typeof summary?.snapshot_id === 'string' ? summary.snapshot_id : undefined;
  if (!summary || snapshotId === undefined) {
    throw new IntegrityError('push-unconfirmed', `restic finished the backup of ${record.id} without naming its snapshot`, {
      hint: `check \`clawback ${sandbox} snapshot list --repo ${restic.repo.name}\`, then push again (a bundle the repository holds is not sent twice)`,
    });
  }
  deps.fault?.('push:done');
  return {
    ...identity(record),
    status: 'pushed',
    snapshotId,
    dataAdded: numberOf(summary.data_added),
    filesNew: numberOf(summary.files_new),
    filesChanged: numberOf(summary.files_changed),
    filesUnmodified: numberOf(summary.files_unmodified),
    durationMs: deps.clock() - started,
  };
}

function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function describeError(message: ResticMessage): string {
  const error = message.error;
  const text = typeof error === 'object' && error !== null && 'message' in error ? String((error as { message: unknown }).message) : JSON.stringify(error);
  return `${typeof message.item === 'string' ? `${message.item}: ` : ''}${text}`;
}
