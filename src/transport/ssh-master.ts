import fs from 'node:fs';
import type { UnreachableError } from '../errors.js';
import type { Outcome } from './classify.js';
import { startProcess } from './child.js';

export interface SshMaster {
  /** Ends the master once its multiplexed sessions are done (SIGKILL if it lingers). */
  stop(): Promise<void>;
}

const READY_POLL_MS = 20;
const STOP_GRACE_MS = 5_000;

/**
 * Starts an ssh ControlMaster at `controlPath` and resolves once its socket is there. Its session
 * runs `cat >/dev/null` with stdin a pipe from us: when clawback ends, even by SIGKILL, the pipe
 * closes, the session ends and the master exits, so no connection outlives the command.
 * `base` is `ssh [options] -- destination`.
 */
export async function startMaster(base: readonly string[], controlPath: string, fail: (outcome: Outcome) => UnreachableError): Promise<SshMaster> {
  const dash = base.indexOf('--');
  const argv = [...base.slice(0, dash), '-o', 'ControlMaster=yes', '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=no', ...base.slice(dash), 'cat >/dev/null'];
  const proc = startProcess(argv);
  proc.stdout.resume();
  let ended: Outcome | undefined;
  void proc.done.then((outcome) => {
    ended = outcome;
  });
  for (;;) {
    if (ended !== undefined) throw fail(ended.code === 0 ? { code: 255, stderr: ended.stderr || 'connection closed at once' } : ended);
    if (fs.existsSync(controlPath)) break;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  return {
    async stop() {
      proc.stdin.end();
      const timer = setTimeout(() => proc.kill(), STOP_GRACE_MS);
      await proc.done;
      clearTimeout(timer);
    },
  };
}
