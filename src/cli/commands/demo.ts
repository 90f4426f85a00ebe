import type { Command } from 'commander';
import type { Act } from '../program.js';

export function registerDemo(program: Command, act: Act): void {
  program
    .command('demo')
    .description('a create → change → list → show → restore cycle on generated sample state, in a temp home')
    .option('--keep', 'keep the temp home afterwards')
    .action(
      act(async (ctx, flags: { keep?: boolean }) => {
        const { runDemo } = await import('./demo-run.js');
        return runDemo(ctx, flags.keep === true);
      }),
    );
}
