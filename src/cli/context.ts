import path from 'node:path';
import type { Writable } from 'node:stream';
import { Chalk, type ChalkInstance } from 'chalk';
import type { EngineDeps } from '../engine/deps.js';
import { UsageError } from '../errors.js';
import { displayName } from '../fs-safety/fs-path.js';
import { expandHome, homeLayout } from '../store/home.js';
import { hostFacts, monotonicClock } from './host.js';
import type { InterruptGate } from './interrupts.js';
import { ProgressReporter } from './progress.js';

export interface GlobalOptions {
  home?: string;
  json?: boolean;
  quiet?: boolean;
  wait?: string;
}

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  homedir: string;
  /** Ctrl-C for commands that roll back by themselves; absent when the caller is not a process (tests of main). */
  interrupts?: InterruptGate;
  /** One answered line; '' when the input ended (Ctrl-D); rejects with InterruptedError on Ctrl-C. */
  prompt: (question: string, options?: { silent?: boolean }) => Promise<string>;
}

/** Everything a command needs, built once from argv and the environment. */
export interface CliContext {
  io: CliIo;
  json: boolean;
  quiet: boolean;
  color: ChalkInstance;
  interactive: boolean;
  deps: EngineDeps;
  progress: ProgressReporter;
}

/** What a command's action returns: an exit code, or nothing for success. */
export type CommandResult = number | void;

/** Wraps a command's action: builds the context, settles interrupted work, records the exit code. */
export type Act = <A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<CommandResult>) => (...args: A) => Promise<void>;

/** Runs one whole clawback invocation (main), handed to the demo so it needs no import of main. */
export type CliRunner = (args: string[], io: CliIo) => Promise<number>;

export { expandHome };

/** Home resolution: --home, else $CLAWBACK_HOME, else ~/.nemoclaw (README "Concepts"); a flag beats its variable, as in restic. */
export function resolveHome(options: GlobalOptions, io: CliIo): string {
  const fromEnv = io.env.CLAWBACK_HOME;
  const chosen = options.home ?? (fromEnv && fromEnv.length > 0 ? fromEnv : path.join(io.homedir, '.nemoclaw'));
  return path.resolve(io.cwd, expandHome(chosen, io.homedir));
}

/** Test-only: CLAWBACK_TEST_NOW=<ISO time> fixes the wall clock (bundle timestamps, ages), e.g. to make a stale snapshot. */
function wallClock(fixed: string | undefined): () => Date {
  if (fixed === undefined || fixed === '') return () => new Date();
  const time = new Date(fixed);
  if (Number.isNaN(time.getTime())) throw new UsageError(`CLAWBACK_TEST_NOW=${fixed} is not an ISO time`);
  return () => new Date(time);
}

export function buildContext(options: GlobalOptions, io: CliIo, version: string): CliContext {
  const json = options.json === true;
  const quiet = options.quiet === true;
  const colorOk = io.stderrIsTTY && !('NO_COLOR' in io.env && io.env.NO_COLOR !== undefined) && !json;
  const color = new Chalk({ level: colorOk ? 1 : 0 });
  const progress = new ProgressReporter(io.stderr, colorOk && !quiet);
  const waitSeconds = options.wait !== undefined ? parseWait(options.wait) : 0;
  const fault = io.env.CLAWBACK_TEST_FAULT;
  const sqliteWait = Number(io.env.CLAWBACK_SQLITE_WAIT);
  const deps: EngineDeps = {
    layout: homeLayout(resolveHome(options, io)),
    now: wallClock(io.env.CLAWBACK_TEST_NOW),
    clock: monotonicClock,
    host: hostFacts(io.homedir),
    events: {
      phase: (name, totals) => progress.phase(name, totals),
      progress: (done) => progress.update(done),
      // The one way a warning reaches the user: the engine reports it here as it happens.
      warning: (message) => {
        if (quiet || json) return;
        progress.stop();
        io.stderr.write(color.yellow(`warning: ${displayName(message)}`) + '\n');
      },
    },
    toolVersion: version,
    lockWaitMs: waitSeconds * 1000,
    ...(io.env.CLAWBACK_SQLITE_WAIT && Number.isFinite(sqliteWait) && sqliteWait >= 0 ? { sqliteWaitMs: sqliteWait * 1000 } : {}),
    ...(io.interrupts ? { signal: io.interrupts.signal } : {}),
  };
  if (fault) {
    // `POINT` kills the process there; `SIGINT@POINT` sends it a Ctrl-C there (the tests of exit 130).
    const [signal, point] = fault.startsWith('SIGINT@') ? (['SIGINT', fault.slice('SIGINT@'.length)] as const) : (['SIGKILL', fault] as const);
    deps.fault = (reached) => {
      if (reached === point) process.kill(process.pid, signal);
    };
  }
  return { io, json, quiet, color, interactive: io.stdinIsTTY, deps, progress };
}

/** `--wait SECONDS`: a whole or decimal number of seconds, 0 or more. */
function parseWait(raw: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(seconds)) {
    throw new UsageError(`--wait ${JSON.stringify(raw)} is not a number of seconds`, { hint: 'e.g. --wait 600 waits up to ten minutes for a busy sandbox' });
  }
  return seconds;
}
