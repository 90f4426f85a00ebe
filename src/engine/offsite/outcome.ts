import { BusyError, ClawbackError, ExitCode, IntegrityError, InterruptedError, NotFoundError, RefusedError } from '../../errors.js';
import type { RepoEntry } from '../../store/repos.js';

/**
 * restic's exit codes (restic ≥ 0.17 has dedicated ones; 0.14, Debian's, exits 1 for every fatal
 * error, so there the cases are told apart by restic's own messages).
 */
const RESTIC_PARTIAL = 3;
const RESTIC_NO_REPOSITORY = 10;
const RESTIC_LOCKED = 11;
const RESTIC_WRONG_PASSWORD = 12;
const RESTIC_INTERRUPTED = 130;

const WRONG_PASSWORD = /wrong password or no key found/;
const NO_REPOSITORY = /Is there a repository at the following location\?|repository does not exist/;
const LOCKED = /unable to create lock|repository is already locked/;
const ALREADY_INITIALISED = /config file already exists|repository master key and config already initialized/;
const CHECK_FOUND_ERRORS = /repository contains errors|Fatal: .*(pack|blob|index).*(error|damaged|invalid)/i;

/** restic's own words for what failed: its `exit_error` message (≥ 0.17), else its `Fatal:` line, else its last line. */
export function resticMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  for (const line of lines.slice().reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as { message_type?: unknown; message?: unknown };
      if (value.message_type === 'exit_error' && typeof value.message === 'string') return value.message;
    } catch {
      // not JSON after all: a text line
    }
  }
  const fatal = lines.find((l) => l.startsWith('Fatal: '));
  return (fatal ?? lines.at(-1) ?? 'no message').replace(/^Fatal: /, '');
}

/** The repository as messages name it: its clawback name and restic location. */
function named(repo: RepoEntry): string {
  return `${repo.name} (${repo.repository})`;
}

/** The line of restic's lock message that says who holds it. */
function lockHolder(stderr: string): string {
  const line = stderr.split('\n').find((l) => /locked (exclusively )?by/.test(l));
  return line ? line.replace(/^.*?(locked (exclusively )?by)/, '$1').trim() : resticMessage(stderr);
}

/** clawback's error for a restic call that ended with `code`; `what` says what the call did. */
export function resticFailure(code: number, stderr: string, repo: RepoEntry, what: string): ClawbackError {
  const message = resticMessage(stderr);
  if (code === RESTIC_INTERRUPTED) return new InterruptedError(`restic ${what} was interrupted`);
  if (code === RESTIC_WRONG_PASSWORD || WRONG_PASSWORD.test(stderr)) {
    return new IntegrityError('repo-wrong-password', `wrong password for repository ${named(repo)}: restic found no key it opens`, {
      hint: `check the password file or command (\`clawback repo show ${repo.name}\`), or RESTIC_PASSWORD_FILE / RESTIC_PASSWORD_COMMAND / RESTIC_PASSWORD in the environment`,
    });
  }
  if (code === RESTIC_NO_REPOSITORY || NO_REPOSITORY.test(stderr)) {
    return new NotFoundError('repo-missing', `there is no restic repository at ${repo.repository} (repository ${repo.name})`, {
      hint: `create it with \`clawback repo init ${repo.name}\`, or fix the location: \`clawback repo add ${repo.name} <restic-repository>\``,
    });
  }
  if (code === RESTIC_LOCKED || LOCKED.test(stderr)) {
    return new BusyError(`repository ${named(repo)} is locked: ${lockHolder(stderr)}`, {
      hint: `another restic or clawback is using it: wait for it to finish; if none runs any more (a killed one left it), remove the stale lock with \`clawback repo unlock ${repo.name}\` (add --remove-all if restic still counts its holder alive) and try again`,
    });
  }
  if (ALREADY_INITIALISED.test(stderr)) {
    return new RefusedError('repo-exists', `a restic repository already exists at ${repo.repository}`, { hint: `use it as it is: \`clawback <sandbox> snapshot push --repo ${repo.name}\`` });
  }
  if (code === RESTIC_PARTIAL) {
    return new ClawbackError('restic-partial', ExitCode.partial, `restic ${what} finished, but some files could not be read: ${message}`, {
      hint: 'the snapshot restic made is incomplete; fix what restic names and run it again',
    });
  }
  if (CHECK_FOUND_ERRORS.test(stderr)) {
    return new IntegrityError('repo-damaged', `repository ${named(repo)} is damaged: ${message}`, { hint: 'see `restic check` and `restic repair` in restic\'s documentation' });
  }
  return new ClawbackError('restic-failed', ExitCode.internal, `restic ${what} failed (exit ${code}): ${message}`, {
    hint: `restic's message says why; \`clawback repo check ${repo.name}\` checks the repository`,
  });
}
