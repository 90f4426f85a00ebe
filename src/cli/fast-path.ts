import fs from 'node:fs';

/**
 * The invocations answered without loading commander or any command: root help (`--help`, `-h`,
 * `help`, and a bare `clawback`, which prints it on stderr) and `-v`/`--version`. Root help is the
 * text `npm run build` rendered from the live program at 80 columns (cli/help-cache-build.ts).
 */
export const HELP_CACHE_MODULE = 'help-cache.js';
/** The width commander renders help at when the stream is not a terminal (or one of 80 columns). */
export const CACHED_HELP_WIDTH = 80;

type Stream = NodeJS.WriteStream;

/** The width commander would wrap help at on this stream (its own rule: the terminal's columns, else 80). */
function helpWidth(stream: Stream): number {
  return (stream.isTTY ? stream.columns : undefined) ?? CACHED_HELP_WIDTH;
}

/** Which stream root help goes to for these args, or undefined when they ask for something else. */
export function rootHelpStream(args: readonly string[]): 'stdout' | 'stderr' | undefined {
  if (args.length === 0) return 'stderr';
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h' || args[0] === 'help')) return 'stdout';
  return undefined;
}

/**
 * The cached root help, when it is as new as this build: a build by `tsc` alone rewrites every
 * module after the cache was written, so an older cache is never trusted (the live program renders).
 */
async function cachedRootHelp(): Promise<string | undefined> {
  const cache = new URL(`./${HELP_CACHE_MODULE}`, import.meta.url);
  const cached = fs.statSync(cache, { throwIfNoEntry: false });
  const self = fs.statSync(new URL(import.meta.url), { throwIfNoEntry: false });
  if (cached === undefined || self === undefined || cached.mtimeMs < self.mtimeMs) return undefined;
  let text: unknown;
  try {
    text = ((await import(cache.href)) as { ROOT_HELP?: unknown }).ROOT_HELP;
  } catch {
    return undefined; // a damaged cache: the live program renders help
  }
  return typeof text === 'string' ? text : undefined;
}

/** A closed pipe (`clawback --help | head`) is not an error, as in main's run(). */
function write(stream: Stream, text: string): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  stream.write(text);
}

/** Answers these args if they are root help or the version flag; false when the whole CLI must run. */
export async function fastPath(args: readonly string[]): Promise<boolean> {
  if (args.length === 1 && (args[0] === '-v' || args[0] === '--version')) {
    const { toolVersion } = await import('./version.js');
    write(process.stdout, `${toolVersion()}\n`);
    return true;
  }
  const where = rootHelpStream(args);
  if (where === undefined) return false;
  const stream = where === 'stdout' ? process.stdout : process.stderr;
  if (helpWidth(stream) !== CACHED_HELP_WIDTH) return false;
  const text = await cachedRootHelp();
  if (text === undefined) return false;
  write(stream, text);
  return true;
}
