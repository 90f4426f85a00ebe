import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { buildContext, TOOL_VERSION, type CliContext, type CliIo, type GlobalOptions } from './context.js';
import { registerCommands } from './commands/index.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    unexpected internal error (a bug: the stack is printed)
  2    usage error
  3    partial: finished, but something was skipped or failed
  4    not found: sandbox, bundle, selector
  5    refused: unsafe content, existing destination without --force, confirmation missing
  6    integrity: checksum mismatch, corrupt or unsupported bundle/archive
  7    busy: another clawback holds the sandbox lock
  130  interrupted`;

const GRAMMAR_HELP = `
Per-sandbox commands (NemoClaw grammar: the sandbox name comes first):
  clawback <name> snapshot create [--name LABEL] [--only MODULE,...] [--agent ID,...] [--exclude GLOB]... [--no-secrets]
  clawback <name> snapshot list
  clawback <name> snapshot show <selector>
  clawback <name> snapshot verify [<selector>|--all]
  clawback <name> snapshot diff <selector> [<selector>]
  clawback <name> snapshot restore [<selector>] [--to <other> [--root DIR]] [--force] [--yes] [--dry-run]
                                   [--only MODULE,...] [--agent ID,...] [--new-agent-root DIR] [--no-pre-restore]
  clawback <name> snapshot delete <selector>... [--yes]
  clawback <name> snapshot prune [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N]
                                 [--keep-monthly N] [--older-than 30d] [--keep-name GLOB] [--dry-run]
  clawback <name> snapshot export <selector> -o FILE [--format tar|tar.gz|qwenpaw-zip] [--include-secrets] [--encrypt]
  clawback <name> snapshot import FILE [--overwrite] [--name LABEL]
  clawback <name> rebuild [--yes]

Selectors: vN, latest, an exact label, an exact timestamp, or a unique timestamp prefix.
Home: $CLAWBACK_HOME, else --home DIR, else ~/.nemoclaw.`;

export type CommandResult = number | void;
export type Act = <A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<CommandResult>) => (...args: A) => Promise<void>;

export interface ProgramState {
  exitCode: number;
  json: boolean;
}

/** Builds the commander program. Command modules import their engine lazily, so --help stays fast. */
export function buildProgram(io: CliIo, state: ProgramState): Command {
  const program = new Command('clawback');
  program
    .description('Snapshots and lossless restores of AI-agent state')
    .version(TOOL_VERSION, '-V, --version')
    .option('--home <dir>', 'clawback home (default: $CLAWBACK_HOME or ~/.nemoclaw)')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('-q, --quiet', 'print nothing but errors')
    .addOption(new Option('--wait <seconds>', 'wait this long for a busy sandbox lock (default: fail at once, exit 7)'))
    .showHelpAfterError('(run clawback --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addHelpText('after', GRAMMAR_HELP + '\n' + EXIT_CODES_HELP);

  const act: Act = (fn) => async (...args) => {
    const globals = program.opts<GlobalOptions>();
    state.json = globals.json === true;
    const ctx = buildContext(globals, io);
    // Every command first finishes or rolls back a restore that was interrupted (README "Restore").
    if (fs.existsSync(ctx.deps.layout.journals)) {
      const { recoverJournals } = await import('../store/journal.js');
      recoverJournals(ctx.deps);
      // Then a rebuild that was interrupted (its restore journal, if any, is settled above).
      const { recoverRebuilds } = await import('../engine/rebuild/journal.js');
      recoverRebuilds(ctx.deps);
    }
    const code = await fn(ctx, ...args);
    ctx.progress.stop();
    if (typeof code === 'number') state.exitCode = code;
  };
  registerCommands(program, act);
  for (const command of program.commands) {
    const verb = /^snapshot-(.+)$/.exec(command.name())?.[1];
    if (verb !== undefined || command.name() === 'rebuild') {
      // Help shows the grammar users type, not the hidden command it is rewritten to.
      const words = verb !== undefined ? `snapshot ${verb}` : 'rebuild';
      command.configureHelp({ commandUsage: (c) => `clawback <sandbox> ${words} ${c.usage().replace(/<sandbox>\s*/, '')}`.trim() });
    }
    command.exitOverride();
    command.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    command.addHelpText('after', EXIT_CODES_HELP);
  }
  return program;
}

export function isCommanderError(error: unknown): error is CommanderError {
  return error instanceof CommanderError;
}
