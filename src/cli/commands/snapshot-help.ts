import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Act } from '../context.js';

/** The snapshot verbs with their one-line descriptions, for `clawback <name> snapshot --help`. */
function verbList(program: Command): string {
  const verbs = program.commands.flatMap((c) => {
    const verb = /^snapshot-(.+)$/.exec(c.name())?.[1];
    return verb === undefined || verb === 'help' ? [] : [{ verb, description: c.description() }];
  });
  const width = Math.max(...verbs.map((v) => v.verb.length));
  return ['', 'Verbs:', ...verbs.map((v) => `  ${v.verb.padEnd(width)}  ${v.description}`), '', 'See clawback <name> snapshot <verb> --help, or clawback help snapshot <verb>.'].join('\n');
}

/** `clawback NAME snapshot` with no verb: a usage error naming the verbs; with --help, the verbs and what they do. */
export function registerSnapshotHelp(program: Command, act: Act, verbs: () => string[]): void {
  program
    .command('snapshot-help <sandbox>', { hidden: true })
    .description('snapshots of one sandbox: create, list, restore, verify, …')
    .addHelpText('after', () => verbList(program))
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (_ctx, sandbox: string) => {
        throw new UsageError(`missing snapshot verb after "${sandbox} snapshot"`, {
          hint: `one of ${verbs().join(', ')} (see clawback ${sandbox} snapshot --help)`,
        });
      }),
    );
}
