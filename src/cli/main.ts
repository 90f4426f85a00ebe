import { ExitCode } from '../errors.js';
import { rewriteArgv } from './argv.js';
import type { CliContext, CliIo, GlobalOptions } from './context.js';
import { defaultIo } from './io.js';
import { reportError } from './output.js';
import { colorAllowed } from './progress.js';
import type { ProgramState } from './run-action.js';
import { toolVersion } from './version.js';

const SHOW_CURSOR_AND_WRAP = '\u001b[?25h\u001b[?7h';

/**
 * A command answered without building the commander program (commander and the program's modules
 * are a good part of a short command's start-up): a plain local `<name> snapshot list`
 * (commands/snapshot-list.ts plainList), `<name> snapshot create` (commands/snapshot-create.ts
 * plainCreate: cron's), `<name> snapshot verify` (commands/snapshot-verify.ts plainVerify) or
 * `<name> snapshot push --repo NAME` (commands/snapshot-push.ts plainPush: cron's too), exactly
 * as its commander action runs it. undefined: commander parses.
 */
async function withoutCommander(argv: string[], io: CliIo, state: ProgramState): Promise<(() => Promise<void>) | undefined> {
  if (argv[0] === 'snapshot-verify') return verifyWithoutCommander(argv, io, state);
  if (argv[0] === 'snapshot-list') {
    const { plainList, listLocal } = await import('./commands/snapshot-list.js');
    const plain = plainList(argv);
    return plain && withGlobals(plain.globals, io, state, (ctx) => listLocal(ctx, plain.sandbox, plain.exact));
  }
  if (argv[0] === 'snapshot-create') {
    const { plainCreate, createAction } = await import('./commands/snapshot-create.js');
    const plain = plainCreate(argv);
    return plain && withGlobals(plain.globals, io, state, (ctx) => createAction(ctx, plain.sandbox, plain.flags));
  }
  if (argv[0] === 'snapshot-push') {
    const { plainPush, pushAction } = await import('./commands/snapshot-push.js');
    const plain = plainPush(argv);
    return plain && withGlobals(plain.globals, io, state, (ctx) => pushAction(ctx, plain.sandbox, plain.selectors, plain.flags));
  }
  return undefined;
}

/** A command's action run as runAction runs every command's. */
function withGlobals(globals: GlobalOptions, io: CliIo, state: ProgramState, action: (ctx: CliContext) => Promise<void>): () => Promise<void> {
  return async () => {
    const { runAction } = await import('./run-action.js');
    await runAction(globals, io, state, toolVersion(), action, []);
  };
}

/** A plain verify, its hashing workers started first thing: they boot while everything else of verify loads. */
async function verifyWithoutCommander(argv: string[], io: CliIo, state: ProgramState): Promise<(() => Promise<void>) | undefined> {
  const verify = await import('./commands/snapshot-verify.js');
  const plain = verify.plainVerify(argv);
  if (plain === undefined) return undefined;
  const [{ prestartHashers }, { availableParallelism }] = await Promise.all([import('../engine/verify/prestart.js'), import('node:os'), import('./optimise-late.js').then((o) => o.optimiseLate())]);
  prestartHashers(availableParallelism());
  return withGlobals(plain.globals, io, state, (ctx) => verify.verifyAction(ctx, plain.sandbox, plain.selector, plain.all));
}

/**
 * Runs one clawback invocation and returns its exit code. Only this layer knows about process.
 * `commander: 'always'` (tests) parses every command with commander, as a command without a fast path is.
 */
export async function main(args: string[], io: CliIo, options: { commander?: 'always' } = {}): Promise<number> {
  const state: ProgramState = { exitCode: ExitCode.ok, json: args.includes('--json') };
  const argv = rewriteArgv(args);
  let program: typeof import('./program.js') | undefined;
  try {
    const fast = options.commander === 'always' ? undefined : await withoutCommander(argv, io, state);
    if (fast !== undefined) {
      await fast();
      return state.exitCode;
    }
    program = await import('./program.js');
    const built = await program.buildProgram(io, state, toolVersion(), main, argv);
    await built.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (error) {
    // Help and --version were printed; every parse error arrives here as a UsageError.
    if (program?.isCommanderError(error)) return ExitCode.ok;
    const colorOk = colorAllowed(io) && !state.json;
    const red = (s: string): string => (colorOk ? `\u001b[31m${s}\u001b[39m` : s);
    return reportError(error, io, state.json, red);
  }
}

export async function run(): Promise<void> {
  const io = defaultIo();
  // A closed pipe (`clawback ... | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  let interrupted = false;
  process.on('SIGINT', () => {
    // A restore rolls back (or, past its commit point, finishes) and exits with its own result.
    if (io.interrupts?.interrupt()) return;
    if (interrupted) process.exit(ExitCode.interrupted);
    interrupted = true;
    // A progress bar hides the cursor and turns line wrap off; give the terminal back as it was.
    if (io.stderrIsTTY) io.stderr.write(SHOW_CURSOR_AND_WRAP);
    io.stderr.write('\nclawback: interrupted\n');
    process.exit(ExitCode.interrupted);
  });
  const code = await main(process.argv.slice(2), io);
  process.exitCode = code;
}
