import type { Command } from 'commander';
import { PartialError } from '../../errors.js';
import type { Act } from '../context.js';
import { emit } from '../output.js';

const HELP = `
Every \`snapshot create\` and \`backup-all\` run records its success or failure in the home
(<home>/status/<sandbox>.json); status shows the last of each, with the newest snapshot and its age.

--max-age makes it a monitoring check: exit 3 when any sandbox's newest snapshot is older than
DURATION, or it has none; exit 0 otherwise. An empty registry is exit 4.

Example (a monitoring probe):
  clawback status --max-age 26h --quiet || echo "backups are stale"`;

export function registerStatus(program: Command, act: Act): void {
  program
    .command('status')
    .description('per sandbox: the last snapshot and its age, the last recorded success and failure, snapshots and disk use')
    .option('--max-age <duration>', 'exit 3 when a sandbox has no snapshot newer than this (90m, 26h, 7d)')
    .addHelpText('after', HELP)
    .action(
      act(async (ctx, flags: { maxAge?: string }) => {
        const present = await import('../present/status.js');
        const { parseDuration } = await import('../../engine/retention/rules.js');
        const { sandboxesStatus } = await import('../../engine/inspect/status.js');
        const maxAgeMs = flags.maxAge === undefined ? undefined : parseDuration(flags.maxAge);
        const result = sandboxesStatus(maxAgeMs === undefined ? {} : { maxAgeMs }, ctx.deps);
        emit(ctx, present.json(result), (view) => present.text(result, view));
        const stale = present.staleNames(result);
        if (stale.length > 0) {
          throw new PartialError('stale', `no snapshot newer than ${flags.maxAge ?? ''} for: ${stale.join(', ')}`, result, {
            hint: 'check the schedule (`backup-all` in cron or a systemd timer) and the last failure shown above',
          });
        }
      }),
    );
}
