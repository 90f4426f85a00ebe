import { acquireLock, type Lock, type LockHost } from '../../store/lock.js';
import type { EngineDeps } from '../deps.js';

/** The per-sandbox lock every command that reads or writes a sandbox's bundles or root holds. */
export function sandboxLock(deps: EngineDeps, sandbox: string, command: string): Lock {
  return acquireLock(deps.layout.locks, sandbox, { command, waitMs: deps.lockWaitMs, now: deps.now, host: lockHost(deps) });
}

/** The host facts a lock records and checks, from the deps. */
export function lockHost(deps: EngineDeps): LockHost {
  return { pid: deps.host.pid, hostname: deps.host.hostname, isAlive: deps.host.isAlive, clock: deps.clock };
}
