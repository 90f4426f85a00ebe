import { createHash } from 'node:crypto';
import { posix } from 'node:path';

/**
 * The files that must agree with a restored openclaw.json, or the agent undoes the restore.
 * - `openclaw.json.last-good` (OpenClaw): the raw bytes of the last config it promoted as good. When a
 *   config fails validation at start or on reload, OpenClaw puts that copy back and keeps the rejected
 *   one as `openclaw.json.clobbered.<time>`; a stale copy would hand back the pre-restore config.
 * - `.config-hash` (NemoClaw, in the config's directory): `sha256sum` output for openclaw.json,
 *   checked with `sha256sum -c` from that directory when the sandbox starts; on a mismatch the sandbox
 *   refuses to start.
 */
export function lastGoodPath(config: string): string {
  return `${config}.last-good`;
}

export function configHashPath(config: string): string {
  const dir = posix.dirname(config);
  return dir === '.' ? '.config-hash' : `${dir}/.config-hash`;
}

const SUM_LINE = /^(\\?)([0-9a-fA-F]{64})( [ *])(.*)$/;

/**
 * `.config-hash` with the hash of every line naming the config (by its base name, whatever directory
 * the line writes) set to the sha256 of `config`; other lines and each line's file name stay as they
 * were, so `sha256sum -c` run where NemoClaw runs it checks the restored file.
 */
export function configHashText(existing: string, configName: string, config: Uint8Array): string {
  const digest = createHash('sha256').update(config).digest('hex');
  return existing
    .split('\n')
    .map((line) => {
      const match = SUM_LINE.exec(line);
      if (!match || posix.basename(match[4]!) !== configName) return line;
      return `${match[1]}${digest}${match[3]}${match[4]}`;
    })
    .join('\n');
}
