import { listBundles, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import { parseBundleTimestamp, sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { describeBundle, sweepLeftovers, freedBy, removeBundles, type DeletedBundle } from '../bundle/remove.js';
import type { EngineDeps } from '../deps.js';
import { planRetention, type RetentionCandidate, type RetentionPolicy } from './rules.js';
import { sandboxLock } from '../sandbox/lock.js';

export interface PruneRequest {
  sandbox: string;
  policy: RetentionPolicy;
  dryRun: boolean;
  /** IANA zone the hourly/daily/... periods are counted in; default the system's. */
  timeZone?: string;
}

export interface PruneDecision extends DeletedBundle {
  keep: boolean;
  /** Why it is kept (every rule that keeps it), or why it goes. */
  reasons: string[];
}

export interface PruneSummary {
  sandbox: string;
  dryRun: boolean;
  /** Newest first. */
  decisions: PruneDecision[];
  kept: number;
  removed: number;
  /** Payload bytes the removal frees (or would free), from the manifests. */
  freedBytes: number;
}

const CORRUPT_REASON = 'unreadable manifest: never pruned (inspect it, then delete it by name)';

/**
 * Apply a retention policy (restic `forget` rules, see retention.ts) and delete what no
 * rule keeps, under the sandbox lock, which a dry run takes too so its plan is the one a
 * real run would carry out. Incomplete bundles always go; corrupt ones (unreadable, or
 * written by a newer clawback) are never removed by a policy.
 */
export function pruneSnapshots(request: PruneRequest, deps: EngineDeps): PruneSummary {
  // Refuse a bad policy before waiting for the lock.
  planRetention([], request.policy, retentionOptions(request, deps));
  getSandbox(deps.layout, request.sandbox);
  const lock = sandboxLock(deps, request.sandbox, request.dryRun ? 'snapshot prune --dry-run' : 'snapshot prune', 'no-sweep');
  try {
    const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
    // Every `.partial` is the policy's to remove and report ('incomplete'); a dry run removes nothing.
    if (!request.dryRun) sweepLeftovers(sandboxDir, deps, (name) => name.endsWith(PARTIAL_SUFFIX));
    const records = listBundles(sandboxDir);
    const byId = new Map(records.map((r) => [r.id, r]));
    const candidates = records.filter((r) => r.state !== 'corrupt').map(candidateOf);
    const plan = planRetention(candidates, request.policy, retentionOptions(request, deps));
    const decisions: PruneDecision[] = plan.map((d) => ({ ...describeBundle(byId.get(d.id)!), keep: d.keep, reasons: d.reasons }));
    for (const record of records.filter((r) => r.state === 'corrupt').reverse()) {
      decisions.push({ ...describeBundle(record), keep: true, reasons: [CORRUPT_REASON] });
    }
    const doomed = decisions.filter((d) => !d.keep).map((d) => byId.get(d.id)!);
    const freedBytes = freedBy(records, doomed, sandboxDir);
    if (!request.dryRun && doomed.length > 0) removeBundles(sandboxDir, doomed, deps);
    return {
      sandbox: request.sandbox,
      dryRun: request.dryRun,
      decisions,
      kept: decisions.filter((d) => d.keep).length,
      removed: doomed.length,
      freedBytes,
    };
  } finally {
    lock.release();
  }
}

function retentionOptions(request: PruneRequest, deps: EngineDeps): { now: Date; timeZone?: string } {
  return request.timeZone === undefined ? { now: deps.now() } : { now: deps.now(), timeZone: request.timeZone };
}

function candidateOf(record: BundleRecord): RetentionCandidate {
  // A bundle dir whose name is no timestamp (renamed by hand) falls back to the manifest's own.
  const time = record.time ?? (record.header ? parseBundleTimestamp(record.header.timestamp) : undefined) ?? new Date(0);
  const candidate: RetentionCandidate = { id: record.id, time, complete: record.state === 'complete' };
  if (record.header?.name) candidate.label = record.header.name;
  return candidate;
}
