import type { Command } from 'commander';
import { ExitCode, PartialError } from '../../errors.js';
import type { Act } from '../context.js';
import { emit } from '../output.js';

export function registerSnapshotVerify(program: Command, act: Act): void {
  program
    .command('snapshot-verify <sandbox> [selector]', { hidden: true })
    .description('re-hash a snapshot against its manifest (default: latest); exit 6 on any damage')
    .option('--all', 'verify every snapshot; incomplete and corrupt ones count as damage')
    .action(
      act(async (ctx, sandbox: string, selector: string | undefined, flags: { all?: boolean }) => {
        // The hashing workers boot while the rest of verify loads (unused, they are let go).
        (await import('../../engine/verify/prestart.js')).prestartHashers(ctx.deps.host.parallelism);
        const present = await import('../present/snapshot-verify.js');
        const { verifySnapshots } = await import('../../engine/verify/verify.js');
        const summary = await verifySnapshots({ sandbox, all: flags.all === true, ...(selector !== undefined ? { selector } : {}) }, ctx.deps);
        emit(ctx, present.json(summary), () => present.text(summary));
        if (!summary.ok) {
          throw new PartialError('verify-failed', present.damageMessage(summary), summary, {
            exitCode: ExitCode.integrity,
            hint: 'restore from a snapshot that verifies, and delete the damaged one',
          });
        }
      }),
    );
}
