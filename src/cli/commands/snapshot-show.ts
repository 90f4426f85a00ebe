import type { Command } from 'commander';
import type { Act } from '../context.js';
import { emit } from '../output.js';

export function registerSnapshotShow(program: Command, act: Act): void {
  program
    .command('snapshot-show <sandbox> <selector>', { hidden: true })
    .description('show one snapshot')
    .action(
      act(async (ctx, sandbox: string, selector: string) => {
        const present = await import('../present/snapshot-show.js');
        const { findSnapshot, scopeOf } = await import('../../engine/bundle/find.js');
        const record = findSnapshot(sandbox, selector, ctx.deps);
        emit(ctx, present.json(record), () => present.text(record, scopeOf(record, sandbox, ctx.deps)));
      }),
    );
}
