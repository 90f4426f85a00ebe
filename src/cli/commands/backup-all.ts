import type { Command } from 'commander';
import type { BackupAllSummary, PushedCopy } from '../../engine/capture/backup-all.js';
import { ExitCode, exitCodeFor, PartialError } from '../../errors.js';
import type { Act, CliContext } from '../context.js';
import { resticFor } from './repo-access.js';
import { hookSettings } from '../hook-settings.js';
import { emit } from '../output.js';

interface BackupAllFlags {
  strict?: boolean;
  includeStopped?: boolean;
  ping?: string;
  onFailure?: string;
  push?: string;
}

const HELP = `
A sandbox is running when its \`running\` hook exits 0 (hooks run with CLAWBACK_SANDBOX and
CLAWBACK_ROOT set), or, without a hook, when its root exists. A sandbox another clawback holds
is a failed row unless --wait SECONDS lets this run wait for it.

Environment:
  CLAWBACK_REQUIRE_ALL=1        same as --strict
  CLAWBACK_HOOK_TIMEOUT=SECONDS timeout of every hook (default 30 s; recreate 10 min)

Monitoring:
  --ping URL sends healthchecks.io-style pings: POST URL/start when the run begins, then URL on
  success or URL/fail on failure, the body being the run's JSON summary (10 s timeout each). A
  ping that fails is a warning and never changes the exit code.
  --on-failure CMD runs \`sh -c CMD\` when the run exits non-zero, with CLAWBACK_RESULT=failed,
  CLAWBACK_EXIT_CODE, CLAWBACK_FAILED (names), CLAWBACK_MESSAGE and CLAWBACK_SUMMARY_JSON set.

Example (crontab, hourly; \`clawback schedule install\` writes this for you):
  0 * * * * clawback --quiet --wait 600 backup-all --strict --ping https://hc-ping.com/<uuid>`;

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

/** `--push REPO`: one restic (its version checked once) for every sandbox's push; an unknown repository stops the run before any snapshot. */
async function pusher(ctx: CliContext, repo: string): Promise<(sandbox: string, timestamp: string) => Promise<PushedCopy>> {
  const { pushSnapshots } = await import('../../engine/offsite/push.js');
  const restic = await resticFor(ctx, repo);
  await restic.checkVersion();
  return async (sandbox, timestamp) => {
    const summary = await pushSnapshots({ sandbox, selectors: [timestamp], all: false, missing: false }, restic, ctx.deps);
    const bundle = summary.bundles[0]!;
    return { repo, snapshotId: bundle.snapshotId, dataAdded: bundle.dataAdded };
  };
}

export function registerBackupAll(program: Command, act: Act): void {
  program
    .command('backup-all')
    .description('snapshot every registered sandbox that is running, one at a time (for cron and CI; never prompts)')
    .option('--strict', 'exit 3 when any sandbox was skipped, too (also: CLAWBACK_REQUIRE_ALL=1)')
    .option('--include-stopped', 'snapshot stopped sandboxes as well')
    .option('--ping <url>', 'healthchecks.io-style pings: URL/start, then URL or URL/fail')
    .option('--on-failure <cmd>', 'run this shell command when the run fails (result in its environment)')
    .option('--push <repo>', 'push each new snapshot to this restic repository (`clawback repo add`); a failed push fails its row')
    .addHelpText('after', HELP)
    .action(
      act(async (ctx, flags: BackupAllFlags) => {
        const present = await import('../present/backup-all.js');
        const { RunNotifier } = await import('../run-notifier.js');
        const { backupAll } = await import('../../engine/capture/backup-all.js');
        const notifier = RunNotifier.from(ctx, flags);
        const live = !ctx.json && !ctx.quiet;
        await notifier.started();
        const push = flags.push !== undefined ? await pusher(ctx, flags.push) : undefined;
        const summary = await backupAll(
          {
            ...(push !== undefined ? { push } : {}),
            includeStopped: flags.includeStopped === true,
            hooks: hookSettings(ctx),
            onRow: (row) => {
              if (!live) return;
              ctx.progress.stop();
              ctx.io.stdout.write(present.rowLine(row) + '\n');
            },
          },
          ctx.deps,
        ).catch(async (error: unknown) => {
          await notifier.crashed(error, exitCodeFor(error));
          throw error;
        });
        const result = { summary, strict: flags.strict === true || requireAll(ctx.io.env.CLAWBACK_REQUIRE_ALL) };
        const code = exitCode(summary, result.strict);
        const document = present.json(result);
        const failedNames = summary.rows.filter((row) => row.status === 'failed').map((row) => row.name);
        await notifier.finished({ exitCode: code, failed: failedNames, message: present.problemLines(result).at(-1) ?? 'backup-all failed', summary: document });
        emit(ctx, document, () => present.text(result));
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
