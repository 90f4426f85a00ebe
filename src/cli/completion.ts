import type { Command } from 'commander';
import { snapshotVerbs, visibleCommands } from './help.js';

/** What completion needs to know about this home; each call may read the registry or a bundle dir. */
export interface CompletionData {
  sandboxes(): string[];
  selectors(sandbox: string): string[];
}

const GLOBAL_VALUE_OPTIONS = new Set(['--home', '--wait']);
/** Top-level commands whose next word is a registered sandbox name. */
const TAKES_SANDBOX: Record<string, string[]> = { sandbox: ['show', 'set', 'remove'] };

function optionNames(command: Command | undefined, program: Command): string[] {
  const own = command === undefined || command === program ? [] : command.options;
  return [...own, ...program.options].flatMap((o) => (o.hidden || o.long === undefined ? [] : [o.long]));
}

/** The command the words name, for its options: `sandbox add`, `<name> snapshot restore`. */
function commandOf(program: Command, words: string[], sandboxFirst: boolean): Command | undefined {
  if (sandboxFirst) {
    if (words[1] === 'snapshot' && words[2] !== undefined) return program.commands.find((c) => c.name() === `snapshot-${words[2]}`);
    return words[1] === 'rebuild' ? program.commands.find((c) => c.name() === 'rebuild') : undefined;
  }
  let command: Command | undefined = program;
  for (const word of words) command = command?.commands.find((c) => c.name() === word) ?? command;
  return command;
}

function takesSelector(command: Command | undefined): boolean {
  return command?.registeredArguments.slice(1).some((a) => /selector/.test(a.name())) === true;
}

/**
 * The words that can follow what was typed: `words` are the words after `clawback`, the last being
 * the one under the cursor (possibly ''). Commands, sandbox names, snapshot verbs, options, selectors.
 */
export function completions(program: Command, words: string[], data: CompletionData): string[] {
  const current = words.at(-1) ?? '';
  const typed: string[] = [];
  const before = words.slice(0, -1);
  for (let i = 0; i < before.length; i++) {
    const word = before[i]!;
    if (GLOBAL_VALUE_OPTIONS.has(word)) i++;
    else if (!word.startsWith('-')) typed.push(word);
  }
  const topNames = visibleCommands(program).map((c) => c.name());
  const sandboxFirst = typed.length > 0 && !topNames.includes(typed[0]!);
  const candidates = current.startsWith('-') ? optionNames(commandOf(program, typed, sandboxFirst), program) : positional(program, typed, sandboxFirst, data);
  return [...new Set(candidates)].filter((c) => c.startsWith(current)).sort();
}

function positional(program: Command, typed: string[], sandboxFirst: boolean, data: CompletionData): string[] {
  const [first, second, third] = typed;
  if (first === undefined) return [...visibleCommands(program).map((c) => c.name()), ...data.sandboxes()];
  if (sandboxFirst) {
    if (second === undefined) return ['snapshot', 'rebuild'];
    if (second !== 'snapshot') return [];
    if (third === undefined) return snapshotVerbs(program);
    const verb = program.commands.find((c) => c.name() === `snapshot-${third}`);
    return typed.length === 3 && takesSelector(verb) ? data.selectors(first) : [];
  }
  if (first === 'help') return typed.length === 1 ? [...visibleCommands(program).map((c) => c.name()), 'snapshot'] : second === 'snapshot' && typed.length === 2 ? snapshotVerbs(program) : [];
  if (first === 'completion') return typed.length === 1 ? ['bash', 'zsh', 'fish'] : [];
  const command = program.commands.find((c) => c.name() === first);
  if (command === undefined) return [];
  if (second === undefined) return visibleCommands(command).map((c) => c.name());
  return typed.length === 2 && TAKES_SANDBOX[first]?.includes(second) ? data.sandboxes() : [];
}

function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function fishQuoted(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A script for the shell that asks this clawback (`node script __complete -- WORDS`) what may come next. */
export function completionScript(shell: 'bash' | 'zsh' | 'fish', node: string, script: string): string {
  if (shell === 'bash') {
    const run = `${singleQuoted(node)} ${singleQuoted(script)}`;
    return [
      '# clawback completion for bash. Add to ~/.bashrc:  source <(clawback completion bash)',
      '_clawback_complete() {',
      "  local IFS=$'\\n'",
      `  COMPREPLY=($(${run} __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))`,
      '}',
      'complete -o default -F _clawback_complete clawback',
      '',
    ].join('\n');
  }
  if (shell === 'zsh') {
    const run = `${singleQuoted(node)} ${singleQuoted(script)}`;
    return [
      '#compdef clawback',
      '# clawback completion for zsh. Add to ~/.zshrc after compinit:  source <(clawback completion zsh)',
      '_clawback() {',
      '  local -a candidates',
      `  candidates=("\${(@f)$(${run} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")`,
      '  compadd -- "${candidates[@]}"',
      '}',
      'compdef _clawback clawback',
      '',
    ].join('\n');
  }
  return [
    '# clawback completion for fish. Save as ~/.config/fish/completions/clawback.fish:  clawback completion fish > …',
    'function __clawback_complete',
    '    set -l words (commandline -opc)',
    `    ${fishQuoted(node)} ${fishQuoted(script)} __complete -- $words[2..-1] (commandline -ct) 2>/dev/null`,
    'end',
    "complete -c clawback -f -a '(__clawback_complete)'",
    '',
  ].join('\n');
}
