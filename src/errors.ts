/** Exit codes as README "Exit codes" lists them. One table, used by every command. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  partial: 3,
  notFound: 4,
  refused: 5,
  integrity: 6,
  busy: 7,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ClawbackErrorOptions {
  hint?: string;
  details?: string[];
  cause?: unknown;
}

/**
 * The one base of every error meant for a user. Anything that is not a
 * ClawbackError is a bug: the CLI prints its stack and exits 1.
 */
export class ClawbackError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly details: string[];

  constructor(code: string, exitCode: ExitCodeValue, message: string, options: ClawbackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

export class UsageError extends ClawbackError {
  constructor(message: string, options?: ClawbackErrorOptions) {
    super('usage', ExitCode.usage, message, options);
  }
}

export class NotFoundError extends ClawbackError {
  constructor(code: string, message: string, options?: ClawbackErrorOptions) {
    super(code, ExitCode.notFound, message, options);
  }
}

export class RefusedError extends ClawbackError {
  constructor(code: string, message: string, options?: ClawbackErrorOptions) {
    super(code, ExitCode.refused, message, options);
  }
}

export class IntegrityError extends ClawbackError {
  constructor(code: string, message: string, options?: ClawbackErrorOptions) {
    super(code, ExitCode.integrity, message, options);
  }
}

export class BusyError extends ClawbackError {
  constructor(message: string, options?: ClawbackErrorOptions) {
    super('busy', ExitCode.busy, message, options);
  }
}

/** A command that finished but skipped or failed part of its work. Carries the summary it would have printed. */
export class PartialError extends ClawbackError {
  readonly result: unknown;
  constructor(message: string, result: unknown, options?: ClawbackErrorOptions) {
    super('partial', ExitCode.partial, message, options);
    this.result = result;
  }
}

export class InterruptedError extends ClawbackError {
  constructor(message = 'interrupted') {
    super('interrupted', ExitCode.interrupted, message);
  }
}

export function exitCodeFor(error: unknown): ExitCodeValue {
  return error instanceof ClawbackError ? error.exitCode : ExitCode.internal;
}

export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
