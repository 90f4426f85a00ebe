import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Outcome } from './classify.js';

const STDERR_CAP = 64 * 1024;

/** A host process carrying one remote command; stdout is the caller's to consume. */
export interface RemoteProcess {
  stdin: Writable;
  stdout: Readable;
  /** Settles when the process has exited and its pipes are closed; never rejects. */
  done: Promise<Outcome>;
  kill(): void;
}

/** Starts `argv` with three pipes; stderr is kept (its last 64 KiB), a missing program is an outcome, not a throw. */
export function startProcess(argv: readonly string[]): RemoteProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_CAP);
  });
  // A target that exits before reading all its input is reported by its exit status, not by EPIPE.
  child.stdin.on('error', () => undefined);
  const done = new Promise<Outcome>((resolve) => {
    let notStarted: string | undefined;
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'EACCES') notStarted = argv[0];
      else stderr += `\n${error.message}`;
    });
    child.once('close', (code, signal) => {
      const status = code ?? (signal !== null ? 128 + signalNumber(signal) : 1);
      resolve(notStarted !== undefined ? { code: 127, stderr, notStarted } : { code: status, stderr });
    });
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };
  return numbers[signal] ?? 0;
}

/** Runs `argv` to the end with `input` on stdin, collecting stdout as bytes. */
export async function runProcess(
  argv: readonly string[],
  input?: Buffer | Readable,
  signal?: AbortSignal,
): Promise<Outcome & { stdout: Buffer }> {
  const proc = startProcess(argv);
  const chunks: Buffer[] = [];
  proc.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const onAbort = (): void => proc.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (input === undefined) proc.stdin.end();
  else if (Buffer.isBuffer(input)) proc.stdin.end(input);
  else input.pipe(proc.stdin);
  try {
    const outcome = await proc.done;
    return { ...outcome, stdout: Buffer.concat(chunks) };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
