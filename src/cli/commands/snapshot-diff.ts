import type { Command } from 'commander';
import type { Act } from '../context.js';
import { emit } from '../output.js';

export function registerSnapshotDiff(program: Command, act: Act): void {
  program
    .command('snapshot-diff <sandbox> <from> [to]', { hidden: true })
    .description('added, removed and changed paths between two snapshots, or a snapshot and the live state')
    .action(
      act(async (ctx, sandbox: string, from: string, to: string | undefined) => {
        const present = await import('../present/snapshot-diff.js');
        const { diffSnapshots } = await import('../../engine/inspect/diff.js');
        const summary = await diffSnapshots({ sandbox, from, ...(to !== undefined ? { to } : {}) }, ctx.deps);
        emit(ctx, present.json(summary), (view) => present.text(summary, view));
      }),
    );
}
