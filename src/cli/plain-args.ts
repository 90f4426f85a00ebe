import type { GlobalOptions } from './context.js';

/** The global options that take no value, and what each sets. */
const GLOBAL_FLAGS: ReadonlyMap<string, 'json' | 'quiet' | 'wide' | 'verbose'> = new Map([
  ['--json', 'json'],
  ['-q', 'quiet'],
  ['--quiet', 'quiet'],
  ['--wide', 'wide'],
  ['--verbose', 'verbose'],
]);

export interface PlainArgs {
  sandbox: string;
  /** The arguments after the name that are not flags, in order. */
  operands: string[];
  /** The command's own flags that were given. */
  flags: Set<string>;
  globals: GlobalOptions;
}

/**
 * A plain `<name> <command>` (`word` as argv.ts rewrites it: `snapshot-list`, ...) that main runs
 * without building the commander program: after the name, at most `maxOperands` operands and only
 * flags that take no value (global ones, or the command's `own`), each once. Returns what commander
 * would parse from these args, or undefined for anything else (help, --home, an option with a value,
 * an unknown option, `--`, one operand too many...), which commander then parses as always.
 */
export function plainArgs(argv: readonly string[], word: string, own: readonly string[], maxOperands: number): PlainArgs | undefined {
  const [first, sandbox, ...rest] = argv;
  if (first !== word || sandbox === undefined || sandbox.startsWith('-')) return undefined;
  const plain: PlainArgs = { sandbox, operands: [], flags: new Set(), globals: {} };
  for (const arg of rest) {
    if (!arg.startsWith('-')) {
      if (plain.operands.length === maxOperands) return undefined;
      plain.operands.push(arg);
    } else if (own.includes(arg)) {
      if (plain.flags.has(arg)) return undefined;
      plain.flags.add(arg);
    } else {
      const key = GLOBAL_FLAGS.get(arg);
      if (key === undefined || plain.globals[key] !== undefined) return undefined;
      plain.globals[key] = true;
    }
  }
  return plain;
}
