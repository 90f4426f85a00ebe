import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { Chalk, type ChalkInstance } from 'chalk';
import type { EngineDeps } from '../engine/deps.js';
import { expandHome, homeLayout } from '../store/home.js';
import { hostFacts, monotonicClock } from './host.js';
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

export const TOOL_VERSION = '0.1.0';

export { expandHome };

/** Home resolution: $CLAWBACK_HOME, else --home, else ~/.nemoclaw (README "Concepts"). */
export function resolveHome(options: GlobalOptions, io: CliIo): string {
  const fromEnv = io.env.CLAWBACK_HOME;
  const chosen = fromEnv && fromEnv.length > 0 ? fromEnv : options.home ?? path.join(io.homedir, '.nemoclaw');
  return path.resolve(io.cwd, expandHome(chosen, io.homedir));
}

export function buildContext(options: GlobalOptions, io: CliIo): CliContext {
  const json = options.json === true;
  const quiet = options.quiet === true;
  const colorOk = io.stderrIsTTY && !('NO_COLOR' in io.env && io.env.NO_COLOR !== undefined) && !json;
  const color = new Chalk({ level: colorOk ? 1 : 0 });
  const progress = new ProgressReporter(io.stderr, colorOk && !quiet);
  const waitSeconds = options.wait !== undefined ? Number(options.wait) : 0;
  const fault = io.env.CLAWBACK_TEST_FAULT;
  const deps: EngineDeps = {
    layout: homeLayout(resolveHome(options, io)),
    now: () => new Date(),
    clock: monotonicClock,
    host: hostFacts(io.homedir),
    events: {
      phase: (name, totals) => progress.phase(name, totals),
      progress: (done) => progress.update(done),
      warning: (message) => {
        if (!quiet && !json) io.stderr.write(color.yellow(`warning: ${message}`) + '\n');
      },
    },
    toolVersion: TOOL_VERSION,
    lockWaitMs: Number.isFinite(waitSeconds) && waitSeconds > 0 ? waitSeconds * 1000 : 0,
  };
  if (fault) {
    deps.fault = (point) => {
      if (point === fault) process.kill(process.pid, 'SIGKILL');
    };
  }
  return { io, json, quiet, color, interactive: io.stdinIsTTY, deps, progress };
}

export function defaultIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: process.stdin.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    homedir: os.homedir(),
    prompt: async (question, options) => {
      const { promptLine } = await import('./prompt.js');
      return promptLine(question, options?.silent === true);
    },
  };
}
