import fs from 'node:fs';
import os from 'node:os';
import type { HostFacts } from '../engine/deps.js';

/** The real machine's facts, read once per invocation; `homeDir` comes from the caller (CliIo.homedir). */
export function hostFacts(homeDir: string): HostFacts {
  return {
    pid: process.pid,
    hostname: os.hostname(),
    isAlive: processAlive,
    groupAlive,
    signalGroup,
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

/**
 * Whether process group `pgid` has a member that is not a zombie. An orphaned hook is adopted by
 * pid 1, and in a container pid 1 may never reap it: its zombie still answers signal 0, so on
 * Linux /proc decides. Where there is no /proc, signal 0 is the answer.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: 'SIGTERM' | 'SIGKILL'): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
