import picomatch from 'picomatch';
import { UsageError } from '../../errors.js';
import { isRecord } from '../../records.js';
import type { DeletedBundle } from '../bundle/remove.js';
import type { RetentionPolicy } from '../bundle/retention-policy.js';
import type { EngineDeps } from '../deps.js';
import { labelTag, listRemoteBundles, sandboxFilter, type RemoteBundle } from './remote.js';
import type { Restic } from './restic.js';

export interface RemotePruneRequest {
  sandbox: string;
  policy: RetentionPolicy;
  dryRun: boolean;
}

export interface RemotePruneDecision extends DeletedBundle {
  keep: boolean;
  reasons: string[];
}

/** The shape of local prune's summary, so both print the same table. */
export interface RemotePruneSummary {
  sandbox: string;
  repo: string;
  dryRun: boolean;
  /** Newest first. */
  decisions: RemotePruneDecision[];
  kept: number;
  removed: number;
  /** Unknown before restic prunes: restic reports the space it frees in its own text. */
  freedBytes: number;
}

const COUNTS = [
  ['keepLast', '--keep-last'],
  ['keepHourly', '--keep-hourly'],
  ['keepDaily', '--keep-daily'],
  ['keepWeekly', '--keep-weekly'],
  ['keepMonthly', '--keep-monthly'],
  ['keepYearly', '--keep-yearly'],
] as const;

/**
 * restic's forget flags for the policy. `--older-than D` is restic's `--keep-within` (restic counts
 * it back from the newest snapshot, not from now); `--keep-name GLOB` keeps the labels it matches,
 * each as a `--keep-tag label=…`.
 */
function forgetFlags(policy: RetentionPolicy, bundles: RemoteBundle[]): string[] {
  const flags: string[] = [];
  for (const [field, flag] of COUNTS) if (policy[field] !== undefined) flags.push(flag, String(policy[field]));
  if (policy.olderThanMs !== undefined) flags.push('--keep-within', `${Math.max(1, Math.ceil(policy.olderThanMs / 3_600_000))}h`);
  if (flags.length === 0) {
    throw new UsageError('no policy given', { hint: 'pass at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly or --older-than; --keep-name only protects' });
  }
  const globs = policy.keepName ?? [];
  const matches = globs.length > 0 ? picomatch(globs, { dot: true }) : undefined;
  const labels = new Set(bundles.flatMap((b) => (b.name !== null && matches?.(b.name) ? [b.name] : [])));
  for (const label of labels) flags.push('--keep-tag', labelTag(label));
  return flags;
}

/**
 * Applies the policy to one sandbox's snapshots in the repository: `restic forget --tag
 * clawback,sandbox=<name> --group-by ''` (one group for all of them; `--group-by tags` would make
 * each bundle its own group through its `bundle=` tag) `--prune`, or `--dry-run`.
 */
export async function pruneRemote(request: RemotePruneRequest, restic: Restic, deps: EngineDeps): Promise<RemotePruneSummary> {
  const bundles = await listRemoteBundles(restic, request.sandbox);
  const flags = forgetFlags(request.policy, bundles);
  deps.events.phase?.(`forget ${request.sandbox}`);
  const result = await restic.run(['forget', '--json', '--tag', sandboxFilter(request.sandbox), '--group-by', '', ...flags, ...(request.dryRun ? ['--dry-run'] : ['--prune'])], {
    what: `forget of ${request.sandbox}`,
  });
  const bySnapshot = new Map(bundles.map((b) => [b.snapshotId, b]));
  const decisions: RemotePruneDecision[] = [];
  for (const group of result.documents.filter(Array.isArray).flat()) {
    if (!isRecord(group)) continue;
    const reasons = new Map<string, string[]>();
    for (const reason of Array.isArray(group.reasons) ? group.reasons : []) {
      if (!isRecord(reason) || !isRecord(reason.snapshot)) continue;
      const matches = Array.isArray(reason.matches) ? reason.matches.filter((m): m is string => typeof m === 'string') : [];
      reasons.set(JSON.stringify(reason.snapshot.time), matches);
    }
    const add = (list: unknown, keep: boolean): void => {
      for (const snapshot of Array.isArray(list) ? list : []) {
        if (!isRecord(snapshot) || typeof snapshot.id !== 'string') continue;
        const bundle = bySnapshot.get(snapshot.id);
        if (!bundle) continue;
        decisions.push({ ...described(bundle), keep, reasons: keep ? (reasons.get(JSON.stringify(snapshot.time)) ?? ['kept by restic']) : ['kept by no rule'] });
      }
    };
    add(group.keep, true);
    add(group.remove, false);
  }
  decisions.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
  return {
    sandbox: request.sandbox,
    repo: restic.repo.name,
    dryRun: request.dryRun,
    decisions,
    kept: decisions.filter((d) => d.keep).length,
    removed: decisions.filter((d) => !d.keep).length,
    freedBytes: 0,
  };
}

function described(bundle: RemoteBundle): DeletedBundle {
  return { id: bundle.timestamp, timestamp: bundle.timestamp, version: null, name: bundle.name, state: 'complete', files: null, bytes: null };
}
