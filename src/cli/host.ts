import os from 'node:os';
import type { HostFacts } from '../engine/deps.js';

/** The real machine's facts, read once per invocation; `homeDir` comes from the caller (CliIo.homedir). */
export function hostFacts(homeDir: string): HostFacts {
  return {
    pid: process.pid,
    hostname: os.hostname(),
    isAlive: processAlive,
    homeDir,
    tmpDir: os.tmpdir(),
    parallelism: os.availableParallelism(),
    loadAverage: () => os.loadavg()[0] ?? 0,
  };
}

/** Whole milliseconds on the same scale as Date.now(), but monotonic: the process's time origin plus performance.now(). */
export function monotonicClock(): number {
  return Math.floor(performance.timeOrigin + performance.now());
}

/** Whether a process with this pid exists on this host (EPERM: it does, owned by someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
