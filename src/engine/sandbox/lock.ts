import { acquireLock, type Lock } from '../../store/lock.js';
import type { EngineDeps } from '../deps.js';

/** The per-sandbox lock every command that reads or writes a sandbox's bundles or root holds. */
export function sandboxLock(deps: EngineDeps, sandbox: string, command: string): Lock {
  return acquireLock(deps.layout.locks, sandbox, { command, waitMs: deps.lockWaitMs, now: deps.now });
}
