import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

export interface PtyResult {
  /** Everything the terminal showed (stdout and stderr share the pseudo-terminal). */
  output: string;
  exitCode: number | null;
}

const seen = (output: string, when: string | RegExp): boolean => (typeof when === 'string' ? output.includes(when) : when.test(output));
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the built binary on a real pseudo-terminal (util-linux `script`), so stdin and stderr are TTYs.
 * Each time the output first contains a `when` text, its `send` keys are typed. NO_COLOR is set
 * unless `color` (colour and progress bars need it unset).
 */
export function clawbackOnTty(
  home: string,
  args: string[],
  steps: Array<{ when: string | RegExp; send: string }>,
  options: { color?: boolean; env?: Record<string, string>; columns?: number } = {},
): Promise<PtyResult> {
  // `columns`: the terminal's width (a pty made by `script` without a terminal around it reports none).
  const size = options.columns !== undefined ? `stty cols ${options.columns} rows 24; ` : '';
  const command = size + ['node', BIN, ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CLAWBACK_HOME: home, ...(options.env ?? {}) };
  if (options.color === true) delete env.NO_COLOR;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const pending = [...steps];
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    while (pending.length > 0 && seen(output, pending[0]!.when)) child.stdin.write(pending.shift()!.send);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ output, exitCode: code }));
  });
}
