import fs from 'node:fs';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { HookError } from '../../errors.js';
import type { SandboxEntry, SandboxHooks } from '../../store/registry.js';

export type HookName = keyof SandboxHooks;

/** A recreate hook may install an agent (npm, a container pull); the others should be quick. */
export const DEFAULT_HOOK_TIMEOUT_MS: Readonly<Record<HookName, number>> = {
  running: 30_000,
  stop: 30_000,
  start: 30_000,
  recreate: 600_000,
};

/** How hooks run. The CLI passes its environment, cwd and host functions; the engine reads none of them itself. */
export interface HookSettings {
  /** Inherited by every hook; CLAWBACK_SANDBOX, CLAWBACK_ROOT, CLAWBACK_HOOK and CLAWBACK_HOME are added. */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Where the hook's output is kept while it runs (EngineDeps.host.tmpDir). */
  tmpDir: string;
  /** Monotonic milliseconds for the hook's duration (EngineDeps.clock). */
  clock: () => number;
  /** Signals a hook's process group on timeout (EngineDeps.host.signalGroup). */
  signalGroup: (pgid: number, signal: 'SIGTERM' | 'SIGKILL') => void;
  /** Overrides the default timeout of every hook (tests, slow hosts). */
  timeoutMs?: number;
}

export interface HookOutcome {
  hook: HookName;
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  timeoutMs: number;
  /** The last lines of stdout and stderr, interleaved as written. */
  outputTail: string[];
  durationMs: number;
}

const TAIL_LINES = 20;
const TAIL_BYTES = 64 * 1024;
const KILL_GRACE_MS = 3_000;

export function hookTimeoutMs(hook: HookName, settings: HookSettings): number {
  return settings.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS[hook];
}

/**
 * Runs one registry hook through `sh -c` with the sandbox's name and root in the environment and
 * stdin closed (hooks never prompt). Output goes to an unlinked temp file rather than a pipe, so a
 * `start` hook that leaves a daemon running (holding the inherited stdout) does not keep us waiting.
 * The hook runs in its own process group; on timeout the whole group gets SIGTERM, then SIGKILL.
 * Returns the outcome whatever the exit status; throws HookError only when it could not be started.
 */
export async function runHook(
  entry: SandboxEntry,
  hook: HookName,
  settings: HookSettings,
  extraEnv: Record<string, string> = {},
  onStarted?: (processGroup: number) => void,
): Promise<HookOutcome> {
  const command = entry.hooks[hook];
  if (command === undefined) throw new Error(`runHook called for a missing ${hook} hook`);
  const timeoutMs = hookTimeoutMs(hook, settings);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, { CLAWBACK_SANDBOX: entry.name, CLAWBACK_ROOT: entry.root, CLAWBACK_HOOK: hook }, extraEnv);

  const logDir = fs.mkdtempSync(path.join(settings.tmpDir, 'clawback-hook-'));
  const logFile = path.join(logDir, 'output');
  const fd = fs.openSync(logFile, 'w+', 0o600);
  fs.rmSync(logDir, { recursive: true, force: true });
  const started = settings.clock();
  let timedOut = false;
  try {
    // execa's types only name fds 3–9; any open descriptor is handed to spawn as is.
    const output = fd as Options['stdout'] & Options['stderr'];
    const options: Options = {
      shell: true,
      cwd: settings.cwd,
      env,
      extendEnv: false,
      stdin: 'ignore',
      stdout: output,
      stderr: output,
      detached: true,
      reject: false,
    };
    const child = execa(command, options);
    // Detached, the shell leads a new process group whose id is its pid.
    if (child.pid !== undefined) onStarted?.(child.pid);
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
    if (result.failed && result.exitCode === undefined && result.signal === undefined) {
      throw new HookError('hook-not-started', `could not run the ${hook} hook of ${entry.name}: ${result.shortMessage}`, undefined, {
        hint: hookHint(entry.name, hook, command),
      });
    }
    return {
      hook,
      command,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut,
      timeoutMs,
      outputTail: readTail(fd),
      durationMs: settings.clock() - started,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs a hook that must succeed; throws HookError with the output's tail otherwise. */
export async function runRequiredHook(
  entry: SandboxEntry,
  hook: HookName,
  settings: HookSettings,
  extraEnv: Record<string, string> = {},
  onStarted?: (processGroup: number) => void,
): Promise<HookOutcome> {
  const outcome = await runHook(entry, hook, settings, extraEnv, onStarted);
  if (outcome.exitCode !== 0 || outcome.timedOut) throw hookFailure(entry.name, outcome);
  return outcome;
}

export function hookFailure(sandbox: string, outcome: HookOutcome): HookError<HookOutcome> {
  const how = outcome.timedOut
    ? `timed out after ${formatSeconds(outcome.timeoutMs)}`
    : outcome.exitCode !== undefined
      ? `exited with code ${outcome.exitCode}`
      : `was killed by ${outcome.signal ?? 'a signal'}`;
  const details = outcome.outputTail.length > 0 ? ['output (last lines):', ...outcome.outputTail.map((line) => `  ${line}`)] : ['(no output)'];
  return new HookError(outcome.timedOut ? 'hook-timeout' : 'hook-failed', `the ${outcome.hook} hook of ${sandbox} ${how}`, outcome, {
    hint: hookHint(sandbox, outcome.hook, outcome.command),
    details,
  });
}

function hookHint(sandbox: string, hook: HookName, command: string): string {
  return `the hook runs \`${command}\`; change it with \`clawback sandbox set ${sandbox} --hook-${hook} CMD\``;
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
