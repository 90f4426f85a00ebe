import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import type { Act } from '../context.js';
import { hookSettings } from '../hook-settings.js';
import { emit } from '../output.js';
import type * as presentTypes from '../present/rebuild.js';

const HELP = `
Steps: stop hook → snapshot pre-rebuild-<timestamp> → move the root aside to
<root>.clawback-rebuild-<timestamp> → recreate hook → restore the snapshot (the fresh config keeps
its runtime keys, e.g. gateway auth) → start hook → remove the old root. Any failure after the move
puts the old root back and runs the start hook; the error names the snapshot.
Hooks run with CLAWBACK_SANDBOX, CLAWBACK_ROOT and CLAWBACK_VIA set; the recreate hook also gets
CLAWBACK_PREVIOUS_ROOT (the moved-aside root) and CLAWBACK_SNAPSHOT (the bundle directory).
A sandbox with --via is rebuilt in its target: hooks run here, the moves are made there.
A failed hook exits 5. CLAWBACK_HOOK_TIMEOUT=SECONDS overrides the timeouts (recreate 10 min, others 30 s).`;

export function registerRebuild(program: Command, act: Act): void {
  program
    .command('rebuild <sandbox>', { hidden: true })
    .description('snapshot, move the root aside, recreate a fresh home (recreate hook), restore into it; roll back on any failure')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText('after', HELP)
    .action(
      act(async (ctx, sandbox: string, flags: { yes?: boolean }) => {
        const present = await import('../present/rebuild.js');
        const { preflightRebuild, rebuildSandbox } = await import('../../engine/rebuild/rebuild.js');
        const hooks = hookSettings(ctx);
        const preflight = await preflightRebuild(sandbox, ctx.deps);
        if (flags.yes !== true) await confirm(ctx, present.confirmation(preflight));
        const live = !ctx.json && !ctx.quiet;
        const onStep = (step: Parameters<typeof presentTypes.stepLine>[0]): void => {
          if (!live) return;
          ctx.progress.stop();
          ctx.io.stdout.write(present.stepLine(step) + '\n');
        };
        const summary = await rebuildSandbox({ sandbox, hooks, onStep }, ctx.deps);
        emit(ctx, present.json(summary), () => present.text(summary));
      }),
    );
}
