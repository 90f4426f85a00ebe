import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Act } from '../context.js';

/** `clawback NAME snapshot` with no verb: a usage error naming the verbs. */
export function registerSnapshotHelp(program: Command, act: Act, verbs: () => string[]): void {
  program
    .command('snapshot-help <sandbox>', { hidden: true })
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (_ctx, sandbox: string) => {
        throw new UsageError(`missing snapshot verb after "${sandbox} snapshot"`, {
          hint: `one of ${verbs().join(', ')} (see clawback --help)`,
        });
      }),
    );
}
