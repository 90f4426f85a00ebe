import type { Readable } from 'node:stream';
import { RefusedError } from '../../errors.js';
import { displayName, encodeName, hasEscapedBytes } from '../../fs-safety/fs-path.js';
import type { Transport } from '../../transport/index.js';

/** What the remote restore needs of a transport. */
export type RemoteShell = Transport;

/**
 * One shell word for a name (a name is bytes; see fs-path.ts). Scripts are passed as UTF-8 text, so a
 * name that is not UTF-8 is spelled as printf octal escapes inside the word; a name ending in a newline
 * would lose it to the command substitution and is refused (state roots and their siblings never do).
 */
export function q(name: string): string {
  if (!hasEscapedBytes(name)) return `'${name.replace(/'/g, `'\\''`)}'`;
  if (name.endsWith('\n')) throw new RefusedError('unsafe-name', `${displayName(name)}: a remote path that ends in a newline cannot be named in a script`);
  const octal = [...encodeName(name)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  return `"$(printf '${octal}')"`;
}

/**
 * Scripts travel as one argument (ssh: one shell-quoted word), and one argument of exec(2) holds at most
 * 128 KiB on Linux: long path lists go through stdin instead, NUL-separated, read with `xargs -0`.
 */
export function nulList(names: readonly string[]): Buffer {
  return Buffer.concat(names.flatMap((n) => [encodeName(n), Buffer.of(0)]));
}

/**
 * Runs `script` with `set -e` in the target; every path in it went through q(). A non-zero exit is the
 * transport's exit-8 error naming `step` (and telling a missing tool or a lost connection apart).
 */
export function runRemote(shell: RemoteShell, step: string, script: string, input?: Buffer | Readable): Promise<Buffer> {
  return shell.run(`set -e\n${script}`, step, input !== undefined ? { input } : {});
}

/** A refusal found by a remote check (a staged tree that is not what was sent). */
export function stagedTreeMismatch(label: string, detail: string): RefusedError {
  return new RefusedError('remote-stage-mismatch', `the tree staged in ${label} is not what clawback sent (${detail}); nothing live was changed`, {
    hint: 'something else writes beside the state root, or the target\'s tar is not standard; run `clawback sandbox check` on it',
  });
}
