import path from 'node:path';
import type { Command } from 'commander';
import { RefusedError } from '../../errors.js';
import type { Confirmation, RestoreRequest, RestoreSummary } from '../../engine/restore/restore.js';
import type { CliContext } from '../context.js';
import { expandHome } from '../context.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatDurationMs } from '../present/format.js';
import { renderTable } from '../present/table.js';
import { csv } from './options.js';

interface RestoreFlags {
  to?: string;
  root?: string;
  force?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  only?: string[];
  agent?: string[];
  newAgentRoot?: string;
  preRestore?: boolean;
}

const SHOWN_PATHS = 3;

async function confirm(ctx: CliContext, question: Confirmation): Promise<boolean> {
  if (!ctx.interactive) {
    throw new RefusedError('confirmation-missing', `not restoring over ${question.name} without confirmation (stdin is not a terminal)`, { hint: 'pass --yes' });
  }
  const answer = (await ctx.io.prompt(question.question)).trim();
  const ok = question.kind === 'type-name' ? answer === question.name : /^y(es)?$/i.test(answer);
  if (!ok) throw new RefusedError('confirmation-missing', 'not confirmed; nothing was changed');
  return true;
}

const CELL_WIDTH = 90;

function pathsCell(paths: string[], count: number): string {
  let shown = paths.slice(0, SHOWN_PATHS).join(', ');
  if (shown.length > CELL_WIDTH) shown = `${shown.slice(0, CELL_WIDTH - 1)}…`;
  return count > SHOWN_PATHS ? `${shown} (+${count - SHOWN_PATHS} more)` : shown;
}

function planTable(summary: RestoreSummary): string[] {
  const rows: Array<[string, keyof RestoreSummary['counts']]> = [
    ['replaced', 'replaced'],
    ['added', 'added'],
    ['removed', 'removed'],
    ['unchanged', 'unchanged'],
    ['kept', 'kept'],
  ];
  return renderTable(
    ['Change', 'Count', 'Paths'],
    rows.map(([label, key]) => [label, summary.counts[key], pathsCell(summary.paths[key], summary.counts[key])]),
  );
}

function keptLine(summary: RestoreSummary): string | undefined {
  const parts = Object.entries(summary.keptReasons)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([reason, n]) => `${n} ${reason.replace(/_/g, '-')}`);
  return parts.length > 0 ? `  kept as they are: ${parts.join(', ')}` : undefined;
}

function policyLine(summary: RestoreSummary): string | undefined {
  const p = summary.policy;
  if (!p.changed) return undefined;
  const parts: string[] = [];
  if (p.presetsAdded.length) parts.push(`presets +${p.presetsAdded.join(', +')}`);
  if (p.presetsRemoved.length) parts.push(`presets -${p.presetsRemoved.join(', -')}`);
  if (p.customAdded.length) parts.push(`custom +${p.customAdded.join(', +')}`);
  if (p.customRemoved.length) parts.push(`custom -${p.customRemoved.join(', -')}`);
  if (p.customChanged.length) parts.push(`custom changed ${p.customChanged.join(', ')}`);
  return `  policy metadata ${summary.dryRun ? 'would change' : 'changed'}: ${parts.join('; ')}`;
}

function textLines(summary: RestoreSummary): string[] {
  const source = `v${summary.bundle.version ?? '?'} (${summary.bundle.name ?? summary.bundle.timestamp})`;
  const into = summary.target === summary.sandbox ? summary.sandbox : `${summary.target}${summary.registered ? ' (new sandbox)' : ''}`;
  const lines: string[] = summary.dryRun
    ? [`dry run: restoring ${summary.sandbox} ${source} into ${into} would change ${summary.dirs.join(', ')}; every file checked against the manifest`]
    : [`✓ restored ${summary.sandbox} ${source} into ${into} (${summary.dirs.join(', ')}) in ${formatDurationMs(summary.durationMs)}`];
  lines.push(...planTable(summary));
  const kept = keptLine(summary);
  if (kept) lines.push(kept);
  if (summary.databases.length) lines.push(`  SQLite through the backup API: ${summary.databases.join(', ')}`);
  for (const merge of summary.merges) {
    const live = merge.report.fromLive.length ? `; kept from live: ${merge.report.fromLive.join(', ')}` : '';
    lines.push(`  config merged: ${merge.path}${live}`);
  }
  const policy = policyLine(summary);
  if (policy) lines.push(policy);
  if (summary.preRestore) lines.push(`  undo with: ${summary.preRestore.undo}`);
  else if (!summary.dryRun && !summary.registered) lines.push('  no pre-restore snapshot was taken');
  if (summary.restart) lines.push(`  next: ${summary.restart}`);
  return lines;
}

export function registerSnapshotRestore(program: Command, act: Act): void {
  program
    .command('snapshot-restore <sandbox> [selector]', { hidden: true })
    .description('restore a snapshot (default: latest); a pre-restore snapshot is taken first')
    .option('--to <other>', 'restore into another sandbox (registered if unknown)')
    .option('--root <dir>', 'with --to a new name: its state root (default <home>/sandboxes/<other>)')
    .option('--force', 'restore over an existing --to sandbox or a non-empty --root')
    .option('--yes', 'do not ask for confirmation')
    .option('--dry-run', 'print what would be replaced, added, removed and kept; change nothing')
    .option('--only <modules>', 'restore only these modules (comma-separated); the rest stays as it is', csv)
    .option('--agent <ids>', 'restore only these agents (comma-separated)', csv)
    .option('--new-agent-root <dir>', 'where agents not on this host go (default <root>/workspaces/<id>)')
    .option('--no-pre-restore', 'skip the safety snapshot of the current state')
    .action(
      act(async (ctx, sandbox: string, selector: string | undefined, flags: RestoreFlags) => {
        const { restoreSnapshot, restoreConfirmation } = await import('../../engine/restore/restore.js');
        const resolve = (dir: string): string => path.resolve(ctx.io.cwd, expandHome(dir, ctx.io.homedir));
        const request: RestoreRequest = {
          sandbox,
          selector: selector ?? 'latest',
          force: flags.force === true,
          dryRun: flags.dryRun === true,
          noPreRestore: flags.preRestore === false,
          ...(flags.to !== undefined ? { to: flags.to } : {}),
          ...(flags.root !== undefined ? { toRoot: resolve(flags.root) } : {}),
          ...(flags.only ? { only: flags.only } : {}),
          ...(flags.agent ? { agents: flags.agent } : {}),
          ...(flags.newAgentRoot !== undefined ? { newAgentRoot: resolve(flags.newAgentRoot) } : {}),
        };
        const question = restoreConfirmation(request, ctx.deps);
        request.confirmed = flags.yes === true || question === undefined || (await confirm(ctx, question));
        const summary = await restoreSnapshot(request, ctx.deps);
        for (const warning of summary.warnings) ctx.deps.events.warning?.(warning);
        emit(ctx, { restore: summary }, () => textLines(summary));
      }),
    );
}
