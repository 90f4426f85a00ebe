import { RefusedError } from '../errors.js';
import type { CliContext } from './context.js';

/** One confirmation: the sentence comes from the command's presenter, the facts from the engine. */
export interface ConfirmRequest {
  /** The question, without the answer hint. */
  question: string;
  /** What is refused without an answer, as in "not <refusing>": e.g. "removing alpha". */
  refusing: string;
  /** The answer that confirms: y/yes (the default), or a word the user must type (a sandbox name). */
  typed?: string;
}

/**
 * Asks on the terminal; without one, refuses (exit 5) with a hint to pass --yes. An answer other than
 * y/yes (or the typed word), an empty one and Ctrl-D are "not confirmed" (exit 5); Ctrl-C is exit 130.
 */
export async function confirm(ctx: CliContext, request: ConfirmRequest): Promise<void> {
  if (!ctx.interactive) {
    throw new RefusedError('confirmation-missing', `not ${request.refusing} without confirmation (stdin is not a terminal)`, { hint: 'pass --yes' });
  }
  ctx.progress.stop();
  const prompt = request.typed !== undefined ? `${request.question} Type ${request.typed} to confirm: ` : `${request.question} [y/N] `;
  const answer = (await ctx.io.prompt(prompt)).trim();
  const ok = request.typed !== undefined ? answer === request.typed : /^y(es)?$/i.test(answer);
  if (!ok) {
    throw new RefusedError('confirmation-missing', `not ${request.refusing}: not confirmed; nothing was changed`, {
      hint: request.typed !== undefined ? `type ${request.typed}, or pass --yes` : 'answer y, or pass --yes',
    });
  }
}
