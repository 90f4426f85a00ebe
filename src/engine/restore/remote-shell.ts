import { ClawbackError, ExitCode, RefusedError } from '../../errors.js';
import { displayName, encodeName, hasEscapedBytes } from '../../fs-safety/fs-path.js';

/** What the remote restore needs of a transport (src/transport's Transport has this shape). */
export interface RemoteShell {
  readonly label: string;
  exec(script: string, opts?: { input?: Buffer | NodeJS.ReadableStream }): Promise<{ code: number; stdout: Buffer; stderr: string }>;
}

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

/** A remote step that failed: one line naming the transport and the step, with the target's own words. */
export class RemoteStepError extends ClawbackError {
  constructor(label: string, step: string, code: number, stderr: string) {
    const said = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ');
    super('remote-command-failed', ExitCode.refused, `${step} failed in ${label} (exit ${code})${said ? `: ${said}` : ''}`, {
      hint: 'check the target has space and that its user may write beside the state root; nothing live was changed unless the message says so',
    });
  }
}

/**
 * Runs `script` with `set -e` in the target. The script is transport-side text: every path in it went
 * through q(). A non-zero exit is a RemoteStepError naming `step`; transport failures (exit 8) pass through.
 */
export async function runRemote(shell: RemoteShell, step: string, script: string, input?: Buffer | NodeJS.ReadableStream): Promise<Buffer> {
  const result = await shell.exec(`set -e\n${script}`, input !== undefined ? { input } : {});
  if (result.code !== 0) throw new RemoteStepError(shell.label, step, result.code, result.stderr);
  return result.stdout;
}

/** A refusal found by a remote check (a staged tree that is not what was sent). */
export function stagedTreeMismatch(label: string, detail: string): RefusedError {
  return new RefusedError('remote-stage-mismatch', `the tree staged in ${label} is not what clawback sent (${detail}); nothing live was changed`, {
    hint: 'something else writes beside the state root, or the target\'s tar is not standard; run `clawback sandbox check` on it',
  });
}
