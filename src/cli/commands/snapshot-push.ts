import type { Command } from 'commander';
import type { Act } from '../context.js';
import { emit } from '../output.js';
import * as present from '../present/snapshot-push.js';
import { resticFor } from './repo-access.js';

const PUSH_HELP = `
Each snapshot becomes one restic snapshot of its directory (relative paths), tagged clawback,
sandbox=<name>, bundle=<timestamp> and label=<label>; its hashes are checked first, so a damaged
snapshot never leaves the machine. A snapshot the repository holds already is not sent again.
Without a selector the latest snapshot is pushed. Exit 6: wrong password or damaged snapshot;
4: repository or restic missing; 7: repository locked; 3: restic could not read some files.`;

export function registerSnapshotPush(program: Command, act: Act): void {
  program
    .command('snapshot-push <sandbox> [selectors...]', { hidden: true })
    .description('copy snapshots to a restic repository (default: latest)')
    .requiredOption('--repo <name>', 'the repository (`clawback repo add`)')
    .option('--all', 'every complete snapshot (those already there are skipped)')
    .option('--missing', 'the complete snapshots the repository does not hold yet')
    .addHelpText('after', PUSH_HELP)
    .action(
      act(async (ctx, sandbox: string, selectors: string[], flags: { repo: string; all?: boolean; missing?: boolean }) => {
        // Its check runs beside restic's start: V8's optimising compiler would take CPU from both (optimise-late.ts).
        const [{ pushSnapshots }] = await Promise.all([import('../../engine/offsite/push.js'), import('../optimise-late.js').then((o) => o.optimiseLate())]);
        const restic = await resticFor(ctx, flags.repo);
        // Ctrl-C stops the restic processes (they remove their locks) before the push exits 130.
        const release = ctx.io.interrupts?.takeOver();
        const summary = await pushSnapshots({ sandbox, selectors, all: flags.all === true, missing: flags.missing === true }, restic, ctx.deps).finally(() => release?.());
        emit(ctx, present.pushJson(summary), () => present.pushText(summary));
      }),
    );
}
