import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import type { Act } from '../context.js';
import { emit } from '../output.js';

export function registerSnapshotDelete(program: Command, act: Act): void {
  program
    .command('snapshot-delete <sandbox> <selectors...>', { hidden: true })
    .description('delete snapshots (files hard-linked into other snapshots stay there); incomplete ones by their directory name')
    .option('--yes', 'do not ask for confirmation')
    .action(
      act(async (ctx, sandbox: string, selectors: string[], flags: { yes?: boolean }) => {
        const present = await import('../present/snapshot-delete.js');
        const { deleteSnapshots, planDelete } = await import('../../engine/retention/delete.js');
        if (!flags.yes) await confirm(ctx, present.confirmation(sandbox, planDelete({ sandbox, selectors }, ctx.deps)));
        const summary = deleteSnapshots({ sandbox, selectors }, ctx.deps);
        emit(ctx, present.json(summary), () => present.text(summary));
      }),
    );
}
