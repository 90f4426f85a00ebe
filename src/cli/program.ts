import { Command, CommanderError, Option } from 'commander';
import { commandWord } from './argv.js';
import { registerCommands } from './commands/index.js';
import type { Act, CliIo, CliRunner, GlobalOptions } from './context.js';
import { EXIT_CODES_HELP, commandLine, grammarHelp, snapshotVerbs, userWords } from './help.js';
import { HELP_CODES, parseError } from './parse-errors.js';
import { runAction, type ProgramState } from './run-action.js';

export type { ProgramState } from './run-action.js';

/** Every command (and subcommand) of the program, depth first. */
function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** Help and parse errors in the grammar users type; commander's own error output stays silent. */
function configureCommand(command: Command, program: Command, io: CliIo): void {
  command.exitOverride((error: CommanderError) => {
    if (HELP_CODES.has(error.code)) throw error;
    throw parseError(error, command, snapshotVerbs(program));
  });
  command.configureHelp({ showGlobalOptions: true });
  command.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: () => undefined,
    // Commander's own rule, through io: the terminal's columns, else (undefined) 80; the build renders the cached help at 80.
    getOutHelpWidth: (() => io.columns) as () => number,
  });
  if (command === program) return;
  if (userWords(command).perSandbox) {
    // Help shows the grammar users type, not the hidden command it is rewritten to.
    command.configureHelp({ showGlobalOptions: true, commandUsage: (c) => `${commandLine(c)} ${c.usage().replace(/<sandbox>\s*/, '')}`.trim() });
  }
  command.addHelpText('after', EXIT_CODES_HELP);
}

/** Builds the commander program for these (rewritten) args: the named command's module only, when it needs no other. */
export async function buildProgram(io: CliIo, state: ProgramState, version: string, runCli: CliRunner, args: string[]): Promise<Command> {
  const program = new Command('clawback');
  program
    .description('Snapshots and lossless restores of AI-agent state')
    .version(version, '-v, --version')
    .helpCommand(false)
    .option('--home <dir>', 'clawback home (default: $CLAWBACK_HOME or ~/.nemoclaw)')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--wide', 'full tables: whole paths, nothing shortened to fit the terminal (default: fit 80 columns, or the terminal)')
    .option('--verbose', 'list each file copied or linked (create) or restored, one per line on stderr')
    .addOption(new Option('--wait <seconds>', 'wait this long for a busy sandbox lock (default: fail at once, exit 7)'));

  const act: Act = (fn) => (...args) => runAction(program.opts<GlobalOptions>(), io, state, version, fn, args);
  await registerCommands(program, act, runCli, version, commandWord(args));
  program.addHelpText('after', grammarHelp(program) + '\n' + EXIT_CODES_HELP);
  for (const command of allCommands(program)) configureCommand(command, program, io);
  return program;
}

export function isCommanderError(error: unknown): error is CommanderError {
  return error instanceof CommanderError;
}
