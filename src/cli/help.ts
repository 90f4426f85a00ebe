import type { Argument, Command, Option } from 'commander';

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    unexpected internal error (a bug: the stack is printed)
  2    usage error
  3    partial: finished, but something was skipped or failed
  4    not found: sandbox, bundle, selector
  5    refused: unsafe content, existing destination without --force, confirmation missing
  6    integrity: checksum mismatch, corrupt or unsupported bundle/archive
  7    busy: another clawback holds the sandbox lock (or restic cannot lock a repository)
  130  interrupted`;

const WIDTH = 100;

/**
 * The words a user types for a command: NemoClaw's grammar puts the sandbox first, so the hidden
 * `snapshot-<verb>` commands read `<name> snapshot <verb>` and `rebuild` reads `<name> rebuild`.
 */
export function userWords(command: Command): { words: string; perSandbox: boolean } {
  const verb = /^snapshot-(.+)$/.exec(command.name())?.[1];
  if (command.parent?.parent == null && verb !== undefined) return { words: verb === 'help' ? 'snapshot' : `snapshot ${verb}`, perSandbox: true };
  if (command.parent?.parent == null && command.name() === 'rebuild') return { words: 'rebuild', perSandbox: true };
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent != null; c = c.parent) names.unshift(c.name());
  return { words: names.join(' '), perSandbox: false };
}

/** The snapshot verbs users type, from the hidden `snapshot-<verb>` commands that implement them. */
export function snapshotVerbs(program: Command): string[] {
  return program.commands.flatMap((c) => {
    const verb = /^snapshot-(.+)$/.exec(c.name())?.[1];
    return verb !== undefined && verb !== 'help' ? [verb] : [];
  });
}

/** A command's subcommands as users name them: not the hidden ones behind `<name> snapshot VERB` or the completion scripts' `__complete`. */
export function visibleCommands(command: Command): Command[] {
  return command.commands.filter((c) => !/^(snapshot-|__)/.test(c.name()));
}

/** `clawback <name> snapshot show`, `clawback sandbox add`: the command as a user types it. */
export function commandLine(command: Command): string {
  const { words, perSandbox } = userWords(command);
  return ['clawback', ...(perSandbox ? ['<name>'] : []), words].filter((w) => w !== '').join(' ');
}

/** The command's own arguments (a per-sandbox command's first argument is the sandbox name). */
export function ownArguments(command: Command): readonly Argument[] {
  return userWords(command).perSandbox ? command.registeredArguments.slice(1) : command.registeredArguments;
}

export function argumentWord(arg: Argument): string {
  const name = `${arg.name()}${arg.variadic ? '...' : ''}`;
  return arg.required ? `<${name}>` : `[${name}]`;
}

function optionWord(option: Option): string {
  const value = /[<[].*[>\]]$/.exec(option.flags)?.[0];
  return `[${option.long ?? option.short ?? option.flags}${value ? ` ${value}` : ''}]`;
}

function wrap(head: string, words: string[]): string[] {
  const lines: string[] = [];
  let line = head;
  const indent = ' '.repeat(Math.min(head.length + 1, 40));
  for (const word of words) {
    if (line.length + 1 + word.length > WIDTH && line.trim().length > 0 && line !== head) {
      lines.push(line);
      line = indent + word;
    } else line = `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/** The per-sandbox grammar, generated from the commands' own arguments and options. */
export function grammarHelp(program: Command): string {
  const lines: string[] = [];
  for (const command of program.commands) {
    const { words, perSandbox } = userWords(command);
    if (!perSandbox || words === 'snapshot') continue;
    const options = command.options.filter((o) => !o.hidden && o.long !== '--help');
    lines.push(...wrap(`  ${commandLine(command)}`, [...ownArguments(command).map(argumentWord), ...options.map(optionWord)]));
  }
  return [
    '',
    'Per-sandbox commands (NemoClaw grammar: the sandbox name comes first):',
    ...lines,
    '',
    'Selectors: vN, latest, an exact label, an exact timestamp, or a unique timestamp prefix.',
    'Home: --home DIR, else $CLAWBACK_HOME, else ~/.nemoclaw.',
  ].join('\n');
}
