import type { Command } from 'commander';
import type { BackupAllSummary } from '../../engine/capture/backup-all.js';
import { ExitCode, PartialError } from '../../errors.js';
import type { Act } from '../context.js';
import { hookSettings } from '../hook-settings.js';
import { emit } from '../output.js';
import * as present from '../present/backup-all.js';

interface BackupAllFlags {
  strict?: boolean;
  includeStopped?: boolean;
}

const HELP = `
A sandbox is running when its \`running\` hook exits 0 (hooks run with CLAWBACK_SANDBOX and
CLAWBACK_ROOT set), or, without a hook, when its root exists. A sandbox another clawback holds
is a failed row unless --wait SECONDS lets this run wait for it.

Environment:
  CLAWBACK_REQUIRE_ALL=1        same as --strict
  CLAWBACK_HOOK_TIMEOUT=SECONDS timeout of every hook (default 30 s; recreate 10 min)

Example (crontab, hourly):
  0 * * * * clawback --quiet --wait 600 backup-all --strict`;

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

export function registerBackupAll(program: Command, act: Act): void {
  program
    .command('backup-all')
    .description('snapshot every registered sandbox that is running, one at a time (for cron and CI; never prompts)')
    .option('--strict', 'exit 3 when any sandbox was skipped, too (also: CLAWBACK_REQUIRE_ALL=1)')
    .option('--include-stopped', 'snapshot stopped sandboxes as well')
    .addHelpText('after', HELP)
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
              ctx.io.stdout.write(present.rowLine(row) + '\n');
            },
          },
          ctx.deps,
        );
        const result = { summary, strict: flags.strict === true || requireAll(ctx.io.env.CLAWBACK_REQUIRE_ALL) };
        const code = exitCode(summary, result.strict);
        emit(ctx, present.json(result), () => present.text(result));
        // Quiet is for cron: stay silent on success, but say what went wrong so the mail is useful.
        if (ctx.quiet && !ctx.json && code !== ExitCode.ok) ctx.io.stderr.write(present.problemLines(result).join('\n') + '\n');
        for (const row of summary.rows) for (const line of present.bugLines(row)) ctx.io.stderr.write(line + '\n');
        if (code !== ExitCode.partial) return code;
        const { failed, skipped } = summary.counts;
        throw new PartialError('backup-incomplete', `backup-all: ${failed} sandbox(es) failed${result.strict && skipped > 0 ? `, ${skipped} skipped (--strict)` : ''}`, summary, {
          hint: 'each failed row says why; the other sandboxes were backed up',
          reported: true,
        });
      }),
    );
}
