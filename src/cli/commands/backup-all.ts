import type { Command } from 'commander';
import type { BackupAllRow, BackupAllSummary } from '../../engine/capture/backup-all.js';
import { ExitCode } from '../../errors.js';
import type { CliContext } from '../context.js';
import { hookSettings } from '../hook-settings.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes } from '../present/format.js';

interface BackupAllFlags {
  strict?: boolean;
  includeStopped?: boolean;
}

export function registerBackupAll(program: Command, act: Act): void {
  program
    .command('backup-all')
    .description('snapshot every registered sandbox that is running, one at a time (for cron and CI; never prompts)')
    .option('--strict', 'exit 3 when any sandbox was skipped, too (also: CLAWBACK_REQUIRE_ALL=1)')
    .option('--include-stopped', 'snapshot stopped sandboxes as well')
    .addHelpText(
      'after',
      `
A sandbox is running when its \`running\` hook exits 0 (hooks run with CLAWBACK_SANDBOX and
CLAWBACK_ROOT set), or, without a hook, when its root exists. A sandbox another clawback holds
is a failed row unless --wait SECONDS lets this run wait for it.

Environment:
  CLAWBACK_REQUIRE_ALL=1        same as --strict
  CLAWBACK_HOOK_TIMEOUT=SECONDS timeout of every hook (default 30 s; recreate 10 min)

Example (crontab, hourly):
  0 * * * * clawback --quiet --wait 600 backup-all --strict`,
    )
    .action(
      act(async (ctx, flags: BackupAllFlags) => {
        const { backupAll } = await import('../../engine/capture/backup-all.js');
        const live = !ctx.json && !ctx.quiet;
        const summary = await backupAll(
          {
            includeStopped: flags.includeStopped === true,
            hooks: hookSettings(ctx),
            onRow: (row) => {
              if (!live) return;
              ctx.progress.stop();
              ctx.io.stdout.write(rowLine(row) + '\n');
            },
          },
          ctx.deps,
        );
        const strict = flags.strict === true || requireAll(ctx.io.env.CLAWBACK_REQUIRE_ALL);
        const code = exitCode(summary, strict);
        emit(ctx, { rows: summary.rows.map(jsonRow), counts: summary.counts, strict }, () =>
          summary.rows.length === 0 ? ['no sandboxes registered (see `clawback sandbox add` or `clawback discover`)', summaryLine(summary)] : [summaryLine(summary)],
        );
        if (ctx.quiet && !ctx.json && code !== ExitCode.ok) {
          // Quiet is for cron: stay silent on success, but say what went wrong so the mail is useful.
          const shown = summary.rows.filter((r) => r.status === 'failed' || (strict && r.status === 'skipped'));
          ctx.io.stderr.write([...shown.map(rowLine), summaryLine(summary)].join('\n') + '\n');
        }
        reportBugs(ctx, summary.rows);
        return code;
      }),
    );
}

function rowLine(row: BackupAllRow): string {
  if (row.status === 'skipped') return `- ${row.name}: skipped (${row.reason ?? 'not running'})`;
  if (row.status === 'failed') return [`✗ ${row.name}: ${row.reason ?? 'failed'}`, ...(row.details ?? []).map((d) => `    ${d}`)].join('\n');
  const snapshot = row.snapshot!;
  return `✓ ${row.name}: ${snapshot.files} files, ${formatBytes(snapshot.bytes)} → ${snapshot.dir}`;
}

function summaryLine(summary: BackupAllSummary): string {
  const { backedUp, failed, skipped } = summary.counts;
  return `${backedUp} backed up, ${failed} failed, ${skipped} skipped`;
}

function jsonRow(row: BackupAllRow): Record<string, unknown> {
  const { bug: _bug, ...rest } = row;
  return rest;
}

function requireAll(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes'].includes(value.trim().toLowerCase());
}

/** A bug in one sandbox's run outranks everything (exit 1); then failures, and skips under --strict (exit 3). */
function exitCode(summary: BackupAllSummary, strict: boolean): number {
  if (summary.rows.some((r) => r.bug !== undefined)) return ExitCode.internal;
  if (summary.counts.failed > 0) return ExitCode.partial;
  if (strict && summary.counts.skipped > 0) return ExitCode.partial;
  return ExitCode.ok;
}

function reportBugs(ctx: CliContext, rows: BackupAllRow[]): void {
  for (const row of rows) {
    if (row.bug === undefined) continue;
    ctx.io.stderr.write(`clawback: internal error while backing up ${row.name} (a bug, please report it)\n${row.bug.stack ?? row.bug.message}\n`);
  }
}
