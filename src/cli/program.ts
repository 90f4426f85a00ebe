import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { commandWord } from './argv.js';
import { registerCommands } from './commands/index.js';
import type { Act, CliIo, CliRunner, GlobalOptions } from './context.js';
import { EXIT_CODES_HELP, commandLine, grammarHelp, snapshotVerbs, userWords } from './help.js';
import { HELP_CODES, parseError } from './parse-errors.js';

export interface ProgramState {
  exitCode: number;
  json: boolean;
}

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

  const act: Act = (fn) => async (...args) => {
    const globals = program.opts<GlobalOptions>();
    state.json = globals.json === true;
    const { buildContext } = await import('./context.js');
    const ctx = buildContext(globals, io, version);
    // Every command first finishes or rolls back a restore or rebuild that was interrupted (README "Restore").
    if (fs.existsSync(ctx.deps.layout.journals)) {
      const { recoverInterruptedWork } = await import('../engine/recovery.js');
      await recoverInterruptedWork(ctx.deps);
    }
    // Stopped on every path, so an error (a rolled-back restore's exit 130) leaves the terminal as it was.
    const code = await fn(ctx, ...args).finally(() => ctx.progress.stop());
    if (typeof code === 'number') state.exitCode = code;
  };
  await registerCommands(program, act, runCli, version, commandWord(args));
  program.addHelpText('after', grammarHelp(program) + '\n' + EXIT_CODES_HELP);
  for (const command of allCommands(program)) configureCommand(command, program, io);
  return program;
}

export function isCommanderError(error: unknown): error is CommanderError {
  return error instanceof CommanderError;
}
