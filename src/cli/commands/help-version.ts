import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { didYouMean } from '../../suggest.js';
import type { Act } from '../context.js';
import { snapshotVerbs, visibleCommands } from '../help.js';
import { emit } from '../output.js';
import type { JsonDocument } from '../present/document.js';

interface VersionDocument extends JsonDocument {
  version: string;
  /** The node running clawback, e.g. v20.19.0. */
  node: string;
}

/** The command a user means by `clawback help WORDS...`: `snapshot restore`, `sandbox add`, `rebuild`. */
export function commandFor(program: Command, words: string[]): Command {
  if (words[0] === 'snapshot') {
    const verb = words[1];
    const name = verb === undefined ? 'snapshot-help' : `snapshot-${verb}`;
    const found = program.commands.find((c) => c.name() === name);
    if (found !== undefined && words.length <= 2) return found;
    const verbs = snapshotVerbs(program);
    throw new UsageError(`no help for "${words.join(' ')}": unknown snapshot verb`, { hint: `${didYouMean(verb ?? '', verbs)}one of ${verbs.join(', ')}` });
  }
  let command = program;
  for (const word of words) {
    // The hidden commands behind the per-sandbox grammar are asked for as `snapshot VERB`; rebuild by its name.
    const visible = visibleCommands(command);
    const next = visible.find((c) => c.name() === word);
    if (next === undefined) {
      const names = visible.map((c) => c.name());
      throw new UsageError(`no help for "${words.join(' ')}": unknown command "${word}"`, { hint: `${didYouMean(word, names)}one of ${names.join(', ')}, snapshot` });
    }
    command = next;
  }
  return command;
}

export function registerHelpAndVersion(program: Command, act: Act, version: string): void {
  program
    .command('help [words...]')
    .description('show the help of a command, e.g. clawback help snapshot restore')
    .action((words: string[]) => {
      commandFor(program, words).outputHelp();
    });

  program
    .command('version')
    .description('print the version (also -v, --version)')
    .action(
      act(async (ctx) => {
        const document: VersionDocument = { schemaVersion: 1, version, node: process.version };
        emit(ctx, document, () => [version]);
      }),
    );
}
