/**
 * The invocations answered without loading commander or any command. Root help (`--help`, `-h`,
 * `help`, and a bare `clawback`, which prints it on stderr) is answered before this, by the launcher
 * bin/clawback.js (CommonJS, so node does not start its ES module loader for it), from the text
 * `npm run build` rendered from the live program at 80 columns into HELP_CACHE_MODULE
 * (cli/help-cache-build.ts); here: `-v`/`--version`.
 */
export const HELP_CACHE_MODULE = 'help-cache.js';

type Stream = NodeJS.WriteStream;

/** A closed pipe (`clawback --version | head`) is not an error, as in main's run(). */
function write(stream: Stream, text: string): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  stream.write(text);
}

/** Answers these args if they are the version flag; false when the whole CLI must run. */
export async function fastPath(args: readonly string[]): Promise<boolean> {
  if (args.length === 1 && (args[0] === '-v' || args[0] === '--version')) {
    const { toolVersion } = await import('./version.js');
    write(process.stdout, `${toolVersion()}\n`);
    return true;
  }
  return false;
}
