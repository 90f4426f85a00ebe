import type { HomeLayout } from '../store/home.js';

export interface Progress {
  files: number;
  bytes: number;
}

/** What happened to one file: captured (`copied`, `linked` from the previous snapshot) or `restored`. */
export type FileAction = 'copied' | 'linked' | 'restored';

/** How the engine reports; every method optional, so tests and --quiet pass nothing. */
export interface EngineEvents {
  /** A phase starts (`scan`, `copy`, `sync`, `verify`, `restore`…), with its totals when they are known. */
  phase?(name: string, totals?: Progress): void;
  /** Files and bytes done so far in the current phase. */
  progress?(done: Progress): void;
  warning?(message: string): void;
  /** One file written (--verbose); absent means no per-file report is wanted, and none is built. */
  file?(path: string, action: FileAction): void;
}

/** What the engine knows of the machine it runs on; the CLI reads it once, tests pass their own. */
export interface HostFacts {
  /** Recorded in locks and journals, and in scratch names that recovery sweeps once this pid is gone. */
  pid: number;
  hostname: string;
  /** Whether a process with this pid exists on this host (one owned by another user counts). */
  isAlive(pid: number): boolean;
  /** Whether process group `pgid` still has a running member (zombies left unreaped do not count). */
  groupAlive(pgid: number): boolean;
  /** Sends `signal` to every process of group `pgid`; a group that is gone is no error. */
  signalGroup(pgid: number, signal: 'SIGTERM' | 'SIGKILL'): void;
  /** The user's home: where `~` in an agent's own config points. */
  homeDir: string;
  tmpDir: string;
  /** Cores this process may use (os.availableParallelism). */
  parallelism: number;
  /** The one-minute load average, read when a worker pool is sized. */
  loadAverage(): number;
}

export interface EngineDeps {
  layout: HomeLayout;
  /** Wall-clock time, for timestamps written to disk (bundle names, journals, locks). */
  now: () => Date;
  /**
   * Milliseconds from a clock that never steps back, for durations and progress throttles. Kept apart
   * from `now` because tests freeze `now` to choose bundle timestamps, which must not freeze a duration
   * or stop progress reports, and because a wall clock set back by NTP would give negative durations.
   */
  clock: () => number;
  host: HostFacts;
  events: EngineEvents;
  toolVersion: string;
  /** How long to wait for a held sandbox lock, in ms. */
  lockWaitMs: number;
  /** How long a snapshot waits for a database locked by another process before reporting it not captured, in ms (default 10 s). */
  sqliteWaitMs?: number;
  /**
   * Aborted on Ctrl-C when the command takes interrupts itself (restore): the engine stops at its
   * next check before a commit point and rolls back; past the commit point it finishes.
   */
  signal?: AbortSignal;
  /** How remote sandboxes are reached (SPEC §11): host settings the CLI read, e.g. CLAWBACK_SSH_CONFIG. */
  transport?: { sshConfig?: string };
  /** Test-only crash points; the CLI wires this to CLAWBACK_TEST_FAULT. */
  fault?: (point: string) => void;
}
