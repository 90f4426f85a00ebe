import { asUserError, ClawbackError, ExitCode, exitCodeFor, PartialError } from '../errors.js';
import { displayName } from '../fs-safety/fs-path.js';
import type { CliContext } from './context.js';
import type { JsonDocument } from './present/document.js';
import type { TextView } from './present/terminal-text.js';

/** Prints a command's result: its JSON document (from the presenter), or its text lines laid out for the view (width, --wide). */
export function emit(ctx: CliContext, document: JsonDocument, lines: (view: TextView) => string[]): void {
  ctx.progress.stop();
  if (ctx.json) {
    ctx.io.stdout.write(JSON.stringify(document, null, 2) + '\n');
    return;
  }
  if (ctx.quiet) return;
  // A name's bytes that are not UTF-8 are shown as \xff, never as a replacement character.
  const text = lines(ctx.view).map(displayName);
  if (text.length > 0) ctx.io.stdout.write(text.join('\n') + '\n');
}

/** Info for humans on stderr (never in --json or --quiet mode). */
export function note(ctx: CliContext, line: string): void {
  if (ctx.json || ctx.quiet) return;
  ctx.io.stderr.write(displayName(line) + '\n');
}

/** Reports a command's failure and returns its exit code. An OS error that no engine entry point mapped is still a user error. */
export function reportError(thrown: unknown, io: { stderr: NodeJS.WritableStream }, json: boolean, color: (s: string) => string): number {
  const error = asUserError(thrown);
  const exitCode = exitCodeFor(error);
  if (json) {
    const body: Record<string, unknown> =
      error instanceof ClawbackError
        ? { code: error.code, message: error.message, exitCode, ...(error.hint ? { hint: error.hint } : {}), ...(error.details.length ? { details: error.details } : {}) }
        : { code: 'internal', message: error instanceof Error ? error.message : String(error), exitCode, stack: error instanceof Error ? error.stack : undefined };
    io.stderr.write(JSON.stringify(body) + '\n');
    return exitCode;
  }
  if (error instanceof PartialError && error.reported) return exitCode;
  if (error instanceof ClawbackError) {
    io.stderr.write(color(`clawback: ${displayName(error.message)}`) + '\n');
    for (const detail of error.details) io.stderr.write(`  ${displayName(detail)}\n`);
    if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
  } else {
    io.stderr.write(`clawback: internal error (a bug, please report it)\n${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  }
  return exitCode === ExitCode.ok ? ExitCode.internal : exitCode;
}
