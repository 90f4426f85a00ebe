import type { Command } from 'commander';
import type { RebuildPreflight, RebuildStep, RebuildSummary } from '../../engine/rebuild/rebuild.js';
import { RefusedError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { hookSettings } from '../hook-settings.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes, formatDurationMs } from '../present/format.js';

interface RebuildFlags {
  yes?: boolean;
}

export function registerRebuild(program: Command, act: Act): void {
  program
    .command('rebuild <sandbox>', { hidden: true })
    .description('snapshot, move the root aside, recreate a fresh home (recreate hook), restore into it; roll back on any failure')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      `
Steps: stop hook → snapshot pre-rebuild-<timestamp> → move the root aside to
<root>.clawback-rebuild-<timestamp> → recreate hook → restore the snapshot (the fresh config keeps
its runtime keys, e.g. gateway auth) → start hook → remove the old root. Any failure after the move
puts the old root back and runs the start hook; the error names the snapshot.
Hooks run with CLAWBACK_SANDBOX and CLAWBACK_ROOT set; the recreate hook also gets
CLAWBACK_PREVIOUS_ROOT (the moved-aside root) and CLAWBACK_SNAPSHOT (the bundle directory).
A failed hook exits 5. CLAWBACK_HOOK_TIMEOUT=SECONDS overrides the timeouts (recreate 10 min, others 30 s).`,
    )
    .action(
      act(async (ctx, sandbox: string, flags: RebuildFlags) => {
        const { preflightRebuild, rebuildSandbox } = await import('../../engine/rebuild/rebuild.js');
        const hooks = hookSettings(ctx);
        const preflight = preflightRebuild(sandbox, ctx.deps);
        if (flags.yes !== true) await confirm(ctx, preflight);
        const live = !ctx.json && !ctx.quiet;
        const summary = await rebuildSandbox(
          {
            sandbox,
            hooks,
            onStep: (step) => {
              if (!live) return;
              ctx.progress.stop();
              ctx.io.stdout.write(stepLine(step) + '\n');
            },
          },
          ctx.deps,
        );
        for (const warning of summary.warnings) ctx.deps.events.warning?.(warning);
        emit(ctx, { rebuild: summary }, () => doneLines(summary));
      }),
    );
}

async function confirm(ctx: CliContext, preflight: RebuildPreflight): Promise<void> {
  const name = preflight.entry.name;
  if (!ctx.interactive) {
    throw new RefusedError('confirmation-missing', `not rebuilding ${name} without confirmation (stdin is not a terminal)`, { hint: 'pass --yes' });
  }
  const hooks = preflight.entry.hooks;
  const question = [
    `rebuild ${name}: ${hooks.stop !== undefined ? 'stop it, ' : ''}snapshot ${preflight.root} (${preflight.stateFiles} files, ${formatBytes(preflight.stateBytes)}),`,
    `move it aside, run \`${hooks.recreate ?? ''}\`, restore the snapshot into the fresh home${hooks.start !== undefined ? ', start it' : ''}.`,
    'The old root is kept until all of that succeeded. Continue? [y/N] ',
  ].join('\n');
  const answer = (await ctx.io.prompt(question)).trim();
  if (!/^y(es)?$/i.test(answer)) throw new RefusedError('confirmation-missing', 'not confirmed; nothing was changed');
}

function stepLine(step: RebuildStep): string {
  return `✓ ${step.detail} (${formatDurationMs(step.durationMs)})`;
}

function doneLines(summary: RebuildSummary): string[] {
  const lines = [`rebuilt ${summary.sandbox} at ${summary.root} in ${formatDurationMs(summary.durationMs)}`];
  for (const merge of summary.restore.merges) {
    if (merge.report.fromLive.length > 0) lines.push(`  kept from the fresh ${merge.path}: ${merge.report.fromLive.join(', ')}`);
  }
  lines.push(`  the pre-rebuild snapshot stays: ${summary.snapshot.dir}`);
  return lines;
}
