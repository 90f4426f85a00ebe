import { filesystemOf, nonDirectoryAncestor } from './fs-safety/filesystem.js';
import { formatBytes } from './units.js';

/** Exit codes of the README's "Exit codes" table. One table, used by every command. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  partial: 3,
  notFound: 4,
  refused: 5,
  integrity: 6,
  busy: 7,
  unreachable: 8,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ClawbackErrorOptions {
  hint?: string;
  details?: string[];
  cause?: unknown;
}

/**
 * The one base of every error meant for a user: a stable string `code` (the `code` of the JSON error
 * document), an exit code and a hint saying what to do. Anything that is neither a ClawbackError nor
 * an operating-system error (see asUserError) is a bug: the CLI prints its stack and exits 1.
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

/**
 * A command that finished but skipped or failed part of its work (create with unreadable files,
 * backup-all with failures: exit 3; verify with damage: exit 6), carrying the summary it printed.
 */
export class PartialError<Summary = unknown> extends ClawbackError {
  readonly summary: Summary;
  /** The command's own output already said what went wrong: the text error line would repeat it. */
  readonly reported: boolean;
  constructor(
    code: string,
    message: string,
    summary: Summary,
    options: ClawbackErrorOptions & { exitCode?: typeof ExitCode.partial | typeof ExitCode.integrity; reported?: boolean } = {},
  ) {
    super(code, options.exitCode ?? ExitCode.partial, message, options);
    this.summary = summary;
    this.reported = options.reported === true;
  }
}

export class InterruptedError extends ClawbackError {
  constructor(message = 'interrupted') {
    super('interrupted', ExitCode.interrupted, message);
  }
}

/** Why a remote sandbox could not be worked on: the `code` of an UnreachableError. */
export type UnreachableCode = 'transport-unreachable' | 'transport-auth' | 'transport-not-running' | 'transport-missing-tool' | 'transport-failed';

/**
 * A sandbox reached through a transport (SPEC §11) that cannot be worked on: no connection,
 * authentication refused, container not running, a tool missing in the target, or a remote command
 * that failed. Exit 8; the message names the sandbox, the transport and the command that failed.
 */
export class UnreachableError extends ClawbackError {
  readonly transport: string;
  readonly command: string;
  constructor(code: UnreachableCode, message: string, transport: string, command: string, options: ClawbackErrorOptions = {}) {
    super(code, ExitCode.unreachable, message, options);
    this.transport = transport;
    this.command = command;
  }
}

/** An agent manifest (built-in or YAML) that does not parse or contradicts itself. */
export class ManifestError extends ClawbackError {
  constructor(message: string, hint?: string) {
    super('bad-manifest', ExitCode.usage, message, hint ? { hint } : {});
  }
}

export class UnsupportedBundleError extends ClawbackError {
  constructor(message: string) {
    super('unsupported-bundle', ExitCode.integrity, message, { hint: 'upgrade clawback to read this bundle' });
  }
}

export class MalformedManifestError extends ClawbackError {
  constructor(message: string) {
    super('malformed-manifest', ExitCode.integrity, message, { hint: 'the bundle is damaged; choose another one (`snapshot list`)' });
  }
}

export class UnsafeEntryPathError extends ClawbackError {
  constructor(message: string) {
    super('unsafe-entry-path', ExitCode.integrity, message, { hint: 'the bundle was tampered with or damaged; it will not be used' });
  }
}

/** sandboxes.json exists but cannot be understood. */
export class RegistryError extends ClawbackError {
  constructor(message: string) {
    super('corrupt-registry', ExitCode.integrity, message, { hint: 'fix or move the file; clawback never rewrites a registry it cannot read' });
  }
}

/** A restore journal that recovery cannot read. */
export class JournalError extends IntegrityError {
  constructor(file: string, problem: string) {
    super('journal-unreadable', `${file}: ${problem}`, {
      hint: 'an interrupted restore left this journal; check the directories it names, then move it out of the journal dir',
    });
  }
}

/**
 * A hook that failed, timed out or could not be run. Exit 5 as a command's own failure: like a
 * refusal, it means clawback stopped on purpose and left the state as it was (rebuild rolls back).
 * Inside backup-all it becomes one failed row (exit 3 overall). `outcome` is the hook's HookOutcome.
 */
export class HookError<Outcome = unknown> extends ClawbackError {
  readonly outcome: Outcome | undefined;
  constructor(code: string, message: string, outcome: Outcome | undefined, options: ClawbackErrorOptions = {}) {
    super(code, ExitCode.refused, message, options);
    this.outcome = outcome;
  }
}

/**
 * A rebuild that stopped. `rolledBack`: the original root is back in place (and `start` was run);
 * the message always says where the pre-rebuild snapshot is, when one was taken. The code and exit
 * code are the cause's: 5 for a failed hook or a refusal, 6 for a damaged bundle, 7 for a busy lock.
 */
export class RebuildError<Step extends string = string> extends ClawbackError {
  readonly step: Step;
  readonly rolledBack: boolean;
  readonly snapshotDir: string | undefined;
  constructor(cause: ClawbackError, step: Step, message: string, hint: string, rolledBack: boolean, snapshotDir: string | undefined, details: string[]) {
    super(cause.code, cause.exitCode, message, { hint, details, cause });
    this.step = step;
    this.rolledBack = rolledBack;
    this.snapshotDir = snapshotDir;
  }
}

/** A FIFO, socket or device that a step could neither hard-link nor copy. */
export class SpecialFileError extends ClawbackError {
  constructor(file: string) {
    super('special-file', ExitCode.refused, `${file} is a special file that cannot be linked or copied here`, {
      hint: 'move it out of the state root, or exclude it',
    });
  }
}

/** An operating-system error turned into a user error by asUserError: what failed, where, and what to do. */
export class OsError extends ClawbackError {
  /** The errno name, e.g. EACCES. */
  readonly errno: string;
  readonly path: string | undefined;
  constructor(code: string, exitCode: ExitCodeValue, errno: string, file: string | undefined, message: string, options: ClawbackErrorOptions) {
    super(code, exitCode, message, options);
    this.errno = errno;
    this.path = file;
  }
}

export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** An error from the operating system (Node's fs, child_process, net): it carries an errno name such as ENOSPC. */
export function isOsError(error: unknown): error is NodeJS.ErrnoException {
  return !(error instanceof ClawbackError) && /^E[A-Z0-9]+$/.test(errnoCode(error) ?? '');
}

export function isSpaceError(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export interface UserErrorOptions {
  /** The command left nothing written (it cleaned up), so a full disk is a refusal (5), not a partial outcome (3). */
  nothingWritten?: boolean;
  /** Bytes the work needed in all, when known: a full disk then says how much room to make. */
  needBytes?: number;
  /** Files and directories the work creates, when known: tells running out of inodes from running out of bytes. */
  needInodes?: number;
}

/**
 * Turns an operating-system error into a user error that names the path and says what to do; any
 * other error is returned as it is. `path` is what the user knows the work by (the output file, the
 * lock, the bundles dir): it is named when the error carries no path (a failed write), or one at,
 * inside, beside or above it (a temp file, a parent dir), which is then shown too; an error about
 * some other path names that one. Apply it where the path is known; the CLI applies it once more to
 * whatever reaches it, so no OS error is reported as a bug.
 */
export function asUserError(error: unknown, path?: string, options: UserErrorOptions = {}): unknown {
  if (isSqliteModuleFailure(error)) return sqliteModuleError(error);
  if (!isOsError(error)) return error;
  const errno = error.code!;
  const exact = typeof error.path === 'string' ? error.path : undefined;
  const subject = path !== undefined && (exact === undefined || related(exact, path)) ? path : exact;
  const where = subject ?? 'a file or directory';
  const via = exact !== undefined && exact !== subject ? ` (${error.syscall ? `${error.syscall} ` : ''}${exact})` : '';
  const make = (code: string, exitCode: ExitCodeValue, message: string, hint: string): OsError =>
    new OsError(code, exitCode, errno, subject, message + via, { hint, cause: error });
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return make('permission-denied', ExitCode.refused, `permission denied on ${where}`, 'run as the owner of the home, or fix its mode');
    case 'EROFS':
      return make('read-only-filesystem', ExitCode.refused, `${where} is on a read-only filesystem`, 'remount it read-write, or use a directory on a writable filesystem');
    case 'ENOSPC':
    case 'EDQUOT':
      return spaceError(error, errno, subject, options);
    case 'ENOTDIR': {
      const blocker = subject === undefined ? undefined : nonDirectoryAncestor(subject);
      const message = blocker !== undefined && blocker !== subject ? `${blocker} is not a directory (needed for ${subject})` : `${where}: not a directory`;
      return make('not-a-directory', ExitCode.notFound, message, 'check the path: a file stands where a directory is expected (CLAWBACK_HOME, --home, --root, -o)');
    }
    case 'ENOENT':
      return make('path-not-found', ExitCode.notFound, `no such file or directory: ${where}`, 'check the path, and that its directory exists and can hold files');
    case 'EIO':
      return make('io-error', ExitCode.integrity, `I/O error on ${where}`, 'the disk or filesystem reported damage: check it (dmesg, fsck) and copy what you can elsewhere');
    case 'ENAMETOOLONG':
      return make('name-too-long', ExitCode.refused, `name too long: ${where}`, 'shorten the path: most filesystems allow 255 bytes per name and 4096 per path');
    default:
      return make('os-error', ExitCode.refused, `${where}: ${error.message.replace(/^[A-Z0-9]+: /, '').replace(/, \w+ '[^']*'( -> '[^']*')?$/, '')} (${errno})`, 'check the path and try again');
  }
}

/** Whether the path an error carries is part of the work known by `path`: itself, inside it, beside it, or above it. */
function related(exact: string, path: string): boolean {
  const dirOf = (p: string): string => p.slice(0, Math.max(p.lastIndexOf('/'), 1));
  return exact === path || exact.startsWith(path + '/') || path.startsWith(exact + '/') || dirOf(exact) === dirOf(path);
}

/** Which file filled the disk does not matter; which filesystem, and how much room it has, does. */
function spaceError(error: NodeJS.ErrnoException, errno: string, subject: string | undefined, options: UserErrorOptions): OsError {
  const facts = subject === undefined ? undefined : filesystemOf(subject);
  const filesystem = facts ? `the filesystem at ${facts.mountPoint}` : 'the filesystem';
  const inodes = facts !== undefined && (facts.freeInodes === 0 || (options.needInodes !== undefined && facts.freeInodes < options.needInodes));
  const what = errno === 'EDQUOT' ? `disk quota exceeded on ${filesystem}` : inodes ? `no inodes left on ${filesystem}` : `no space left on ${filesystem}`;
  const room: string[] = [];
  if (inodes) {
    room.push(`${facts.freeInodes} inodes free`);
    if (options.needInodes !== undefined) room.push(`up to ${options.needInodes} needed`);
  } else {
    if (facts) room.push(`${formatBytes(facts.freeBytes)} free`);
    if (options.needBytes !== undefined) room.push(`up to ${formatBytes(options.needBytes)} needed`);
  }
  const message = `${what}${subject !== undefined ? ` for ${subject}` : ''}${room.length > 0 ? ` (${room.join(', ')})` : ''}`;
  const exitCode = options.nothingWritten ? ExitCode.refused : ExitCode.partial;
  const hint = options.nothingWritten
    ? 'nothing was written: free some space there (`snapshot prune` removes old snapshots), or use a larger filesystem, then run it again'
    : 'free some space there (`snapshot prune` removes old snapshots), or use a larger filesystem';
  return new OsError(errno === 'EDQUOT' ? 'quota-exceeded' : 'no-space', exitCode, errno, subject, message, { hint, cause: error });
}

/** The exit code an error ends a command with: its own, the one its OS error maps to, or 1 for a bug. */
export function exitCodeFor(error: unknown): ExitCodeValue {
  if (error instanceof ClawbackError) return error.exitCode;
  const mapped = asUserError(error);
  return mapped instanceof ClawbackError ? mapped.exitCode : ExitCode.internal;
}

/**
 * better-sqlite3 loads its native part at the first database it opens: a package installed with
 * install scripts blocked, or built for another node, fails there. That is the user's to fix.
 */
function isSqliteModuleFailure(error: unknown): error is Error {
  if (!(error instanceof Error) || error instanceof ClawbackError) return false;
  return /better_sqlite3\.node|Could not locate the bindings file/.test(error.message);
}

function sqliteModuleError(error: Error): ClawbackError {
  const reason = (error.message.split('\n')[0] ?? '').trim().replace(/\s*Tried:$/, '');
  return new ClawbackError('sqlite-module-unavailable', ExitCode.refused, `the SQLite module (better-sqlite3) cannot be loaded: ${reason}`, {
    hint: 'rebuild it for this node with `npm rebuild better-sqlite3` in clawback\'s install dir (needs python3, make and a C++ compiler), or reinstall with install scripts allowed: `npm install -g clawback --foreground-scripts`',
    cause: error,
  });
}
