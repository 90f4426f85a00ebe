import os from 'node:os';
import { isatty } from 'node:tty';
import type { CliIo } from './context.js';
import { InterruptGate } from './interrupts.js';

/** The real process's streams, environment and terminal. */
export function defaultIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Not process.stdin.isTTY: building the stdin stream cost every command a few ms, and only a prompt reads it.
    stdinIsTTY: isatty(0),
    stderrIsTTY: process.stderr.isTTY === true,
    ...(process.stdout.isTTY === true ? { columns: process.stdout.columns } : {}),
    env: process.env,
    cwd: process.cwd(),
    homedir: os.homedir(),
    interrupts: new InterruptGate(),
    prompt: async (question, options) => {
      const { promptLine } = await import('./prompt.js');
      return promptLine(question, options?.silent === true);
    },
  };
}
