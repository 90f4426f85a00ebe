import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { execa, type Options } from 'execa';

/** What runShell needs from the host; the CLI fills it from its environment (see HookSettings). */
export interface ShellSettings {
  cwd: string;
  /** Where the command's output is kept while it runs. */
  tmpDir: string;
  /** Monotonic milliseconds, for the duration. */
  clock: () => number;
  /** Signals a process group on timeout. */
  signalGroup: (pgid: number, signal: 'SIGTERM' | 'SIGKILL') => void;
}

export interface ShellOutcome {
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  timeoutMs: number;
  /** The last lines of stdout and stderr, interleaved as written. */
  outputTail: string[];
  durationMs: number;
  /** Set when the shell itself could not be started. */
  notStarted?: string;
}

const TAIL_LINES = 20;
const TAIL_BYTES = 64 * 1024;
const KILL_GRACE_MS = 3_000;
/** Prefixed to a held command: wait for one line on fd 3, or exit 125 without running anything. */
const HOLD_UNTIL_RECORDED = 'IFS= read -r clawback_go <&3 || exit 125; exec 3<&-';

/** The environment a command gets: the caller's variables that are set, with `extra` laid over them. */
export function shellEnv(base: Readonly<Record<string, string | undefined>>, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  return Object.assign(env, extra);
}

/**
 * Runs one command through `sh -c` with exactly `env` and stdin closed. Output goes to an unlinked
 * temp file rather than a pipe, so a command that leaves a daemon running (holding the inherited
 * stdout) does not keep us waiting. The command runs in its own process group; on timeout the
 * whole group gets SIGTERM, then SIGKILL. Returns the outcome whatever the exit status.
 */
export async function runShell(
  command: string,
  env: Record<string, string>,
  timeoutMs: number,
  settings: ShellSettings,
  onStarted?: (processGroup: number) => void,
): Promise<ShellOutcome> {
  const logDir = fs.mkdtempSync(path.join(settings.tmpDir, 'clawback-hook-'));
  const fd = fs.openSync(path.join(logDir, 'output'), 'w+', 0o600);
  fs.rmSync(logDir, { recursive: true, force: true });
  const started = settings.clock();
  let timedOut = false;
  try {
    // execa's types only name fds 3–9; any open descriptor is handed to spawn as is.
    const output = fd as Options['stdout'] & Options['stderr'];
    // With onStarted, the shell waits on fd 3 until onStarted has returned (it records the group), and
    // runs nothing if we die before: EOF on fd 3 ends it at once.
    const gated = onStarted !== undefined;
    const options: Options = {
      shell: true, cwd: settings.cwd, env, extendEnv: false, stdio: ['ignore', output, output, ...(gated ? ['pipe' as const] : [])], detached: true, reject: false,
    };
    const child = execa(gated ? `${HOLD_UNTIL_RECORDED}\n${command}` : command, options);
    // Detached, the shell leads a new process group whose id is its pid.
    const hold = child.stdio[3] as Writable | null | undefined;
    try {
      if (child.pid !== undefined) onStarted?.(child.pid);
    } catch (error) {
      // Not recorded: the held shell gets EOF and runs nothing.
      hold?.destroy();
      await child;
      throw error;
    }
    hold?.end('go\n');
    const killGroup = (signal: 'SIGTERM' | 'SIGKILL'): void => {
      if (child.pid === undefined) return;
      try {
        settings.signalGroup(child.pid, signal);
      } catch {
        // The group is already gone, or no longer ours to signal: the wait below ends either way.
      }
    };
    let hardKill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      hardKill = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    const result = await child;
    clearTimeout(timer);
    if (hardKill) clearTimeout(hardKill);
    const notStarted = result.failed && result.exitCode === undefined && result.signal === undefined ? result.shortMessage : undefined;
    return {
      command,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut,
      timeoutMs,
      outputTail: readTail(fd),
      durationMs: settings.clock() - started,
      ...(notStarted === undefined ? {} : { notStarted }),
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** `exited with code 3`, `timed out after 30 s`, `was killed by SIGKILL`. */
export function describeShellEnd(outcome: ShellOutcome): string {
  if (outcome.timedOut) return `timed out after ${formatSeconds(outcome.timeoutMs)}`;
  if (outcome.exitCode !== undefined) return `exited with code ${outcome.exitCode}`;
  return `was killed by ${outcome.signal ?? 'a signal'}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function readTail(fd: number): string[] {
  const size = fs.fstatSync(fd).size;
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  fs.readSync(fd, buffer, 0, length, size - length);
  const lines = buffer.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  // A partial first line (when the output was cut) is dropped rather than shown mangled.
  if (size > length) lines.shift();
  return lines.slice(-TAIL_LINES).map((line) => line.replace(/\r$/, ''));
}
