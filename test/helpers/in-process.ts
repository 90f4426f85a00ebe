import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';

export interface Invocation {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * One clawback invocation in this process, against the clawback home `home`: what it prints and its
 * exit code. `commander: 'always'` parses the args with commander even where main has a plain path
 * without it (main.ts withoutCommander), so a test can hold the two side by side.
 */
export async function invoke(home: string, args: string[], commander?: 'always'): Promise<Invocation> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        into.push(chunk.toString());
        done();
      },
    });
  const io: CliIo = {
    stdout: sink(out),
    stderr: sink(err),
    stdinIsTTY: false,
    stderrIsTTY: false,
    env: { NO_COLOR: '1', CLAWBACK_HOME: home },
    cwd: '/',
    homedir: '/nonexistent',
    prompt: async () => '',
  };
  const code = await main(args, io, commander === undefined ? {} : { commander });
  return { stdout: out.join(''), stderr: err.join(''), code };
}
