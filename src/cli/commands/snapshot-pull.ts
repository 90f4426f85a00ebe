import type { Command } from 'commander';
import type { Act } from '../context.js';
import { emit } from '../output.js';
import * as present from '../present/snapshot-push.js';
import { resticFor } from './repo-access.js';

const PULL_HELP = `
The snapshot is restored into <timestamp>.partial, verified against its own manifest and renamed
into place: a pulled snapshot is a normal one (restore, verify, diff, export work on it). A snapshot
that is here already is refused (exit 5); with --all it is left as it is.`;

export function registerSnapshotPull(program: Command, act: Act): void {
  program
    .command('snapshot-pull <sandbox> [selector]', { hidden: true })
    .description('copy a snapshot from a restic repository into this machine (default: latest)')
    .requiredOption('--repo <name>', 'the repository (`clawback repo add`)')
    .option('--all', "every snapshot of the sandbox the repository holds")
    .addHelpText('after', PULL_HELP)
    .action(
      act(async (ctx, sandbox: string, selector: string | undefined, flags: { repo: string; all?: boolean }) => {
        const { pullSnapshots } = await import('../../engine/offsite/pull.js');
        const summary = await pullSnapshots({ sandbox, all: flags.all === true, ...(selector !== undefined ? { selector } : {}) }, await resticFor(ctx, flags.repo), ctx.deps);
        emit(ctx, present.pullJson(summary), () => present.pullText(summary));
      }),
    );
}
