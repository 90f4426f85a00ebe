import fs from 'node:fs';
import type { CliContext, CliIo, CommandResult, GlobalOptions } from './context.js';

/** What an invocation ends with: its exit code, and whether errors are printed as JSON. */
export interface ProgramState {
  exitCode: number;
  json: boolean;
}

/**
 * Runs a command's action as every command runs: its context from the global options, first
 * finishing or rolling back a restore or rebuild that was interrupted (README "Restore"), the
 * progress display stopped on every path. Commander's actions (program.ts) and the commands main
 * answers without commander (main.ts) both come through here.
 */
export async function runAction<A extends unknown[]>(
  globals: GlobalOptions,
  io: CliIo,
  state: ProgramState,
  version: string,
  fn: (ctx: CliContext, ...args: A) => Promise<CommandResult>,
  args: A,
): Promise<void> {
  state.json = globals.json === true;
  const { buildContext } = await import('./context.js');
  const ctx = buildContext(globals, io, version);
  if (fs.existsSync(ctx.deps.layout.journals)) {
    const { recoverInterruptedWork } = await import('../engine/recovery.js');
    await recoverInterruptedWork(ctx.deps);
  }
  // Stopped on every path, so an error (a rolled-back restore's exit 130) leaves the terminal as it was.
  const code = await fn(ctx, ...args).finally(() => ctx.progress.stop());
  if (typeof code === 'number') state.exitCode = code;
}
