import type { Command } from 'commander';
import type { RetentionPolicy } from '../../engine/retention/rules.js';
import type { Act } from '../context.js';
import { emit } from '../output.js';
import { positiveInt, repeatable } from './options.js';
import { resticFor } from './repo-access.js';

/** The keep rules as the policy takes them; --older-than as the user typed it. */
type PruneFlags = Omit<RetentionPolicy, 'olderThanMs'> & {
  olderThan?: string;
  dryRun?: boolean;
  repo?: string;
};

async function policyOf(flags: PruneFlags): Promise<RetentionPolicy> {
  const { parseDuration } = await import('../../engine/retention/rules.js');
  const policy: RetentionPolicy = {};
  if (flags.keepLast !== undefined) policy.keepLast = flags.keepLast;
  if (flags.keepHourly !== undefined) policy.keepHourly = flags.keepHourly;
  if (flags.keepDaily !== undefined) policy.keepDaily = flags.keepDaily;
  if (flags.keepWeekly !== undefined) policy.keepWeekly = flags.keepWeekly;
  if (flags.keepMonthly !== undefined) policy.keepMonthly = flags.keepMonthly;
  if (flags.keepYearly !== undefined) policy.keepYearly = flags.keepYearly;
  if (flags.olderThan !== undefined) policy.olderThanMs = parseDuration(flags.olderThan);
  if (flags.keepName !== undefined) policy.keepName = flags.keepName;
  return policy;
}

export function registerSnapshotPrune(program: Command, act: Act): void {
  program
    .command('snapshot-prune <sandbox>', { hidden: true })
    .description('delete the snapshots no retention rule keeps (restic forget rules); incomplete ones always go')
    .option('--keep-last <n>', 'keep the n newest', positiveInt)
    .option('--keep-hourly <n>', 'keep the newest of each of the last n hours that have one', positiveInt)
    .option('--keep-daily <n>', 'keep the newest of each of the last n days that have one', positiveInt)
    .option('--keep-weekly <n>', 'keep the newest of each of the last n ISO weeks that have one', positiveInt)
    .option('--keep-monthly <n>', 'keep the newest of each of the last n months that have one', positiveInt)
    .option('--keep-yearly <n>', 'keep the newest of each of the last n years that have one', positiveInt)
    .option('--older-than <duration>', 'keep everything newer than this (s, m, h, d, w; e.g. 30d); alone, remove everything older')
    .option('--keep-name <glob>', 'never remove a snapshot whose name matches (repeatable)', repeatable)
    .option('--dry-run', 'print the plan, delete nothing')
    .option('--repo <name>', "apply the rules to the sandbox's snapshots in a restic repository instead (restic forget --prune)")
    .action(
      act(async (ctx, sandbox: string, flags: PruneFlags) => {
        if (flags.repo !== undefined) {
          const { pruneRemote } = await import('../../engine/offsite/forget.js');
          const presentRemote = await import('../present/snapshot-prune-repo.js');
          const remote = await pruneRemote({ sandbox, policy: await policyOf(flags), dryRun: flags.dryRun === true }, await resticFor(ctx, flags.repo), ctx.deps);
          return emit(ctx, presentRemote.json(remote), (view) => presentRemote.text(remote, view));
        }
        const present = await import('../present/snapshot-prune.js');
        const { pruneSnapshots } = await import('../../engine/retention/prune.js');
        const summary = pruneSnapshots({ sandbox, policy: await policyOf(flags), dryRun: flags.dryRun === true }, ctx.deps);
        emit(ctx, present.json(summary), (view) => present.text(summary, view));
      }),
    );
}
