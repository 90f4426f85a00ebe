import readline from 'node:readline';
import { InterruptedError } from '../errors.js';

/**
 * One line from the TTY; with silent, the typed characters are not echoed (passphrases).
 * Ctrl-D (the input ends) answers ''; Ctrl-C rejects with InterruptedError (exit 130).
 */
export function promptLine(question: string, silent: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      rl.close();
      if (silent) process.stderr.write('\n');
      finish();
    };
    if (silent) {
      const write = rl as unknown as { _writeToOutput: (s: string) => void };
      write._writeToOutput = (s: string) => {
        if (s.startsWith(question)) process.stderr.write(question);
      };
    }
    rl.question(question, (answer) => settle(() => resolve(answer)));
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      settle(() => reject(new InterruptedError()));
    });
    rl.on('close', () => {
      if (!settled) process.stderr.write('\n');
      settle(() => resolve(''));
    });
  });
}
