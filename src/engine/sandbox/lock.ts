import { sandboxBundleDir } from '../../store/home.js';
import { acquireLock, type Lock, type LockHost } from '../../store/lock.js';
import { sweepLeftovers } from '../bundle/remove.js';
import type { EngineDeps } from '../deps.js';

/**
 * The per-sandbox lock every command that reads or writes a sandbox's bundles or root holds. Once
 * it is held, whatever interrupted commands left in the sandbox's bundle dir is swept, unless the
 * caller sweeps itself (`'no-sweep'`: delete and prune, which remove some leftovers by name).
 */
export function sandboxLock(deps: EngineDeps, sandbox: string, command: string, sweep: 'sweep' | 'no-sweep' = 'sweep'): Lock {
  const lock = acquireLock(deps.layout.locks, sandbox, { command, waitMs: deps.lockWaitMs, now: deps.now, host: lockHost(deps) });
  if (sweep === 'sweep') {
    try {
      sweepLeftovers(sandboxBundleDir(deps.layout, sandbox), deps);
    } catch (error) {
      lock.release();
      throw error;
    }
  }
  return lock;
}

/** The host facts a lock records and checks, from the deps. */
export function lockHost(deps: EngineDeps): LockHost {
  return { pid: deps.host.pid, hostname: deps.host.hostname, isAlive: deps.host.isAlive, clock: deps.clock };
}
