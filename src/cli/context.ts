import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { EngineDeps, FileAction } from '../engine/deps.js';
import { UsageError } from '../errors.js';
import { colors, type Colors } from './ansi.js';
import { expandHome, homeLayout } from '../store/home.js';
import { hostFacts, monotonicClock } from './host.js';
import type { InterruptGate } from './interrupts.js';
import { colorAllowed, ProgressReporter, progressDelayMs } from './progress.js';
import { printable, type TextView } from './present/terminal-text.js';

export interface GlobalOptions {
  home?: string;
  json?: boolean;
  quiet?: boolean;
  wait?: string;
  wide?: boolean;
  verbose?: boolean;
}

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  /** The terminal's width when stdout is a terminal; undefined when it is a pipe or a file. */
  columns?: number;
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
  color: Colors;
  interactive: boolean;
  deps: EngineDeps;
  progress: ProgressReporter;
  /** How text output is laid out: the width to fit (none under --wide) and the home for `~/…`. */
  view: TextView;
  verbose: boolean;
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
  const verbose = options.verbose === true && !quiet && !json;
  const color = colors(colorAllowed(io) && !json);
  // The bar is no colour: NO_COLOR leaves it; only a pipe, --quiet or --json hide it.
  const progress = new ProgressReporter(io.stderr, io.stderrIsTTY && !quiet && !json, progressDelayMs(io.env));
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
        io.stderr.write(color.yellow(`warning: ${printable(message)}`) + '\n');
      },
      // Only under --verbose: without a listener the engine does no per-file work for it.
      ...(verbose ? { file: (rel: string, action: FileAction) => progress.log(`${action} ${printable(rel)}`) } : {}),
    },
    toolVersion: version,
    lockWaitMs: waitSeconds * 1000,
    ...(io.env.CLAWBACK_SQLITE_WAIT && Number.isFinite(sqliteWait) && sqliteWait >= 0 ? { sqliteWaitMs: sqliteWait * 1000 } : {}),
    ...(io.interrupts ? { signal: io.interrupts.signal } : {}),
    // CLAWBACK_SSH_CONFIG=FILE: `-F FILE` on every ssh call (a user's ~/.ssh/config is honoured by ssh itself).
    ...(io.env.CLAWBACK_SSH_CONFIG ? { transport: { sshConfig: path.resolve(io.cwd, io.env.CLAWBACK_SSH_CONFIG) } } : {}),
  };
  if (fault) deps.fault = faultHook(fault);
  const view: TextView = { width: options.wide === true ? undefined : terminalWidth(io), homedir: io.homedir };
  return { io, json, quiet, color, interactive: io.stdinIsTTY, deps, progress, view, verbose };
}

/**
 * CLAWBACK_TEST_FAULT: `POINT` kills the process there; `SIGINT@POINT` sends it a Ctrl-C there (the
 * tests of exit 130); `PAUSE:DIR@POINT` writes POINT into the FIFO DIR/reached and blocks until a line
 * comes through the FIFO DIR/resume, so a test acts at that instant (kills the ssh server) and lets it go on.
 */
/**
 * CLAWBACK_TEST_FAULT: `POINT` kills the process there; `SIGINT@POINT` sends it a Ctrl-C there (the
 * tests of exit 130); `GROUP@POINT` kills its whole process group (clawback and the restic it runs, as
 * a crash would); `PAUSE:DIR@POINT` writes DIR/reached and waits until DIR/resume (a FIFO) is written.
 */
function faultHook(fault: string): (reached: string) => void {
  const pause = /^PAUSE:(.+)@([^@]+)$/.exec(fault);
  const group = fault.startsWith('GROUP@');
  const [signal, point] = fault.startsWith('SIGINT@')
    ? (['SIGINT', fault.slice('SIGINT@'.length)] as const)
    : (['SIGKILL', pause?.[2] ?? (group ? fault.slice('GROUP@'.length) : fault)] as const);
  return (reached) => {
    if (reached !== point) return;
    if (pause) {
      fs.writeFileSync(path.join(pause[1]!, 'reached'), `${reached}\n`);
      fs.readFileSync(path.join(pause[1]!, 'resume'));
    } else process.kill(group ? -process.pid : process.pid, signal);
  };
}

/** 80 columns into a pipe or a file; the terminal's own width on a terminal (80 when it reports none). */
export function terminalWidth(io: Pick<CliIo, 'columns'>): number {
  return io.columns !== undefined && io.columns > 0 ? io.columns : 80;
}

/** `--wait SECONDS`: a whole or decimal number of seconds, 0 or more. */
function parseWait(raw: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(seconds)) {
    throw new UsageError(`--wait ${JSON.stringify(raw)} is not a number of seconds`, { hint: 'e.g. --wait 600 waits up to ten minutes for a busy sandbox' });
  }
  return seconds;
}
