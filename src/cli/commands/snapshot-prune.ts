import type { Command } from 'commander';
import type { PruneSummary } from '../../engine/retention/prune.js';
import type { RetentionPolicy } from '../../engine/retention/rules.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes } from '../present/format.js';
import { renderTable } from '../present/table.js';
import { positiveInt, repeatable } from './options.js';

interface PruneFlags {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  olderThan?: string;
  keepName?: string[];
  dryRun?: boolean;
}

function pruneLines(summary: PruneSummary): string[] {
  if (summary.decisions.length === 0) return [`${summary.sandbox} has no snapshots`];
  const table = renderTable(
    ['Action', 'Version', 'Name', 'Timestamp', 'Size', 'Why'],
    summary.decisions.map((d) => [
      d.keep ? 'keep' : summary.dryRun ? 'would remove' : 'remove',
      d.version !== null ? `v${d.version}` : '-',
      d.name ?? '',
      d.timestamp,
      d.bytes !== null ? formatBytes(d.bytes) : '-',
      d.reasons.join(', '),
    ]),
  );
  const verb = summary.dryRun ? 'would remove' : 'removed';
  return [...table, `kept ${summary.kept}, ${verb} ${summary.removed} snapshot(s), ${summary.dryRun ? 'would free' : 'freed'} ${formatBytes(summary.freedBytes)}${summary.dryRun ? ' (dry run: nothing was deleted)' : ''}`];
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
    .action(
      act(async (ctx, sandbox: string, flags: PruneFlags) => {
        const { pruneSnapshots } = await import('../../engine/retention/prune.js');
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
        const summary = pruneSnapshots({ sandbox, policy, dryRun: flags.dryRun === true }, ctx.deps);
        emit(ctx, { ...summary }, () => pruneLines(summary));
      }),
    );
}
