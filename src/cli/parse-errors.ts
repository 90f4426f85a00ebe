import type { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { argumentWord, commandLine, ownArguments, userWords, visibleCommands } from './help.js';

/** Commander's codes that are not errors: help and version were printed. */
export const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

/** The single-quoted token of commander's message: the option, argument or command at fault. */
function quoted(message: string): string {
  return /'([^']*)'/.exec(message)?.[1] ?? '';
}

function suggestion(message: string): string | undefined {
  return /\(Did you mean ([^)]+)\?\)/.exec(message)?.[1];
}

function helpHint(command: Command): string {
  return `see ${commandLine(command)} --help`;
}

function unknownCommand(message: string, command: Command, verbs: string[]): UsageError {
  const name = quoted(message);
  const verb = /^snapshot-(.*)$/.exec(name)?.[1];
  if (verb !== undefined) return new UsageError(`unknown snapshot verb "${verb}"`, { hint: `${didYouMean(verb, verbs)}one of ${verbs.join(', ')} (see clawback --help)` });
  if (command.parent !== null) {
    const subcommands = command.commands.map((c) => c.name());
    return new UsageError(`unknown command "${userWords(command).words} ${name}"`, { hint: `${didYouMean(name, subcommands)}one of ${subcommands.join(', ')} (see ${commandLine(command)} --help)` });
  }
  const top = visibleCommands(command).map((c) => c.name());
  return new UsageError(`unknown command "${name}"`, {
    hint: `${didYouMean(name, top)}the commands are ${top.join(', ')}, \`<name> snapshot <verb>\` and \`<name> rebuild\` (see clawback --help)`,
  });
}

function excessArguments(command: Command): UsageError {
  const args = ownArguments(command);
  const takes = args.length === 0 ? 'it takes none' : `it takes ${args.map(argumentWord).join(' ')}`;
  return new UsageError(`too many arguments for ${userWords(command).words}: ${takes}`, { hint: helpHint(command) });
}

function forCommand(command: Command): string {
  const { words } = userWords(command);
  return words === '' ? '' : ` for ${words}`;
}

/**
 * Commander's own parse errors in clawback's one error form: a UsageError (exit 2) with a message in
 * the grammar users type and a hint, never the hidden command names or commander's wording.
 */
export function parseError(error: CommanderError, command: Command, verbs: string[]): UsageError {
  const message = error.message.replace(/^error: /, '');
  const where = forCommand(command);
  switch (error.code) {
    case 'commander.unknownCommand':
      return unknownCommand(message, command, verbs);
    case 'commander.unknownOption': {
      const better = suggestion(message);
      return new UsageError(`unknown option ${quoted(message)}${where}`, { hint: `${better ? `did you mean ${better}? ` : ''}${helpHint(command)}` });
    }
    case 'commander.missingArgument':
      return new UsageError(`missing argument <${quoted(message)}>${where}`, { hint: helpHint(command) });
    case 'commander.optionMissingArgument':
    case 'commander.missingMandatoryOptionValue': {
      const flags = quoted(message);
      return new UsageError(`option ${flags.split(/[ ,]/).filter((w) => w.startsWith('--')).pop() ?? flags} needs a value${where}`, { hint: `pass ${flags}; ${helpHint(command)}` });
    }
    case 'commander.excessArguments':
      return excessArguments(command);
    default:
      return new UsageError(message.replace(/snapshot-([a-z-]+)/g, 'snapshot $1').split('\n')[0]!, { hint: helpHint(command) });
  }
}
