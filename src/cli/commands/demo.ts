import type { Command } from 'commander';
import type { Act, CliRunner } from '../context.js';

/** The demo drives whole invocations through `runCli` (main, injected so this layer never imports it). */
export function registerDemo(program: Command, act: Act, runCli: CliRunner): void {
  program
    .command('demo')
    .description('a create → change → list → show → restore cycle on generated sample state, in a temp home')
    .option('--keep', 'keep the temp home afterwards')
    .action(
      act(async (ctx, flags: { keep?: boolean }) => {
        const { runDemo } = await import('./demo-run.js');
        return runDemo(ctx, runCli, flags.keep === true);
      }),
    );
}
