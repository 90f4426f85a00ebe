import type { Command } from 'commander';
import type { Act } from '../context.js';
import { emit } from '../output.js';

export function registerSnapshotList(program: Command, act: Act): void {
  program
    .command('snapshot-list <sandbox>', { hidden: true })
    .description('list the snapshots of a sandbox, with the bytes only each one holds and the real disk use')
    .option('--exact', 'count shared files by inode (lstat of every payload file) instead of from the manifests')
    .action(
      act(async (ctx, sandbox: string, flags: { exact?: boolean }) => {
        const present = await import('../present/snapshot-list.js');
        const { listSnapshotsWithSpace } = await import('../../engine/inspect/list.js');
        const { snapshots, diskUsage } = listSnapshotsWithSpace(sandbox, ctx.deps, { exact: flags.exact === true });
        const result = { sandbox, snapshots, diskUsage };
        emit(ctx, present.json(result), (view) => present.text(result, view));
      }),
    );
}
