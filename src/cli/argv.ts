import { COMMAND_WORDS } from '../store/command-words.js';

/** Top-level words that are commands, not sandbox names. */
export const TOP_COMMANDS = new Set(COMMAND_WORDS);
/** Global options that take a value, so the token after them is not the sandbox name. */
const VALUE_OPTIONS = new Set(['--home', '--wait']);

/**
 * NemoClaw's grammar puts the sandbox first (`clawback NAME snapshot create`),
 * which commander cannot express; rewrite it to hidden commands
 * (`snapshot-create NAME`, `rebuild NAME`) before parsing.
 */
export function rewriteArgv(args: string[]): string[] {
  let i = 0;
  while (i < args.length) {
    const token = args[i]!;
    if (token === '--') return args;
    if (!token.startsWith('-')) break;
    i += VALUE_OPTIONS.has(token) ? 2 : 1;
  }
  if (i >= args.length) return args;
  const name = args[i]!;
  // `__complete` is the completion scripts' own command: its words are what the user typed.
  if (TOP_COMMANDS.has(name) || name === '__complete') return args;
  const verb = args[i + 1];
  const before = args.slice(0, i);
  if (verb === 'snapshot') {
    const sub = args[i + 2];
    if (sub === undefined || sub.startsWith('-')) return [...before, 'snapshot-help', name, ...args.slice(i + 2)];
    return [...before, `snapshot-${sub}`, name, ...args.slice(i + 3)];
  }
  if (verb === 'rebuild') return [...before, 'rebuild', name, ...args.slice(i + 2)];
  return args;
}

/** Global options that take no value: they may stand before the command word. */
const FLAG_OPTIONS = new Set(['--json', '-q', '--quiet', '--wide', '--verbose']);

/**
 * The command word of rewritten args (`snapshot-list`, `sandbox`), or undefined when anything
 * but the global options stands before it (`--help`, `--`, an unknown option) or there is none.
 */
export function commandWord(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!;
    if (!token.startsWith('-')) return token;
    if (VALUE_OPTIONS.has(token)) i++;
    else if (!FLAG_OPTIONS.has(token)) return undefined;
  }
  return undefined;
}
