import type { Command } from 'commander';
import { RefusedError } from '../../errors.js';
import type { DeletedBundle } from '../../engine/retention/delete.js';
import type { CliContext } from '../context.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes } from '../present/format.js';

export function bundleLabel(b: Pick<DeletedBundle, 'version' | 'id' | 'name' | 'state'>): string {
  const version = b.version !== null ? `v${b.version} ` : '';
  const state = b.state === 'complete' ? '' : ` (${b.state === 'partial' ? 'incomplete' : 'corrupt'})`;
  return `${version}${b.id}${b.name ? ` "${b.name}"` : ''}${state}`;
}

/** Ask on a TTY; refuse (exit 5) when there is none to ask on. */
export async function confirmOrRefuse(ctx: CliContext, question: string, what: string): Promise<void> {
  if (!ctx.interactive) throw new RefusedError('confirmation-missing', `not ${what} without confirmation`, { hint: 'pass --yes' });
  const answer = await ctx.io.prompt(`${question} [y/N] `);
  if (!/^y(es)?$/i.test(answer.trim())) throw new RefusedError('confirmation-missing', `not ${what}: not confirmed`, { hint: 'answer y, or pass --yes' });
}

export function registerSnapshotDelete(program: Command, act: Act): void {
  program
    .command('snapshot-delete <sandbox> <selectors...>', { hidden: true })
    .description('delete snapshots (files hard-linked into other snapshots stay there); incomplete ones by their directory name')
    .option('--yes', 'do not ask for confirmation')
    .action(
      act(async (ctx, sandbox: string, selectors: string[], flags: { yes?: boolean }) => {
        const { deleteSnapshots, planDelete } = await import('../../engine/retention/delete.js');
        if (!flags.yes) {
          const planned = planDelete({ sandbox, selectors }, ctx.deps);
          const names = planned.map(bundleLabel);
          await confirmOrRefuse(ctx, `delete ${planned.length} snapshot(s) of ${sandbox}: ${names.join(', ')}?`, `deleting ${names.join(', ')}`);
        }
        const summary = deleteSnapshots({ sandbox, selectors }, ctx.deps);
        emit(ctx, { ...summary }, () => [
          ...summary.deleted.map((b) => `deleted ${bundleLabel(b)}`),
          `${summary.deleted.length} snapshot(s) deleted, ${formatBytes(summary.freedBytes)} freed`,
        ]);
      }),
    );
}
