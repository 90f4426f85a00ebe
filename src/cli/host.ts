import os from 'node:os';
import type { HostFacts } from '../engine/deps.js';

/** The real machine's facts, read once per invocation; `homeDir` comes from the caller (CliIo.homedir). */
export function hostFacts(homeDir: string): HostFacts {
  return {
    pid: process.pid,
    hostname: os.hostname(),
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
