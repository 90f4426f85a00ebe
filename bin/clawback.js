#!/bin/sh
":" //# sh runs this line, node skips it: a young generation of 4 MiB halves the memory of a large snapshot at the same speed ; case " $* " in *" --ping"*) ;; *) if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then CLAWBACK_NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export CLAWBACK_NODE_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; fi ;; esac ; exec node --max-semi-space-size=4 "$0" "$@"
'use strict';
// CommonJS (bin/package.json): root help is answered before node starts its ES module loader, which
// costs more than the rest of `clawback --help`. Everything else goes on to the ES modules in dist/.
const fs = require('node:fs');
const path = require('node:path');

const BUILT_CLI = path.join(__dirname, '..', 'dist', 'src', 'cli');
/** How the module src/cli/help-cache-build.ts writes (dist/src/cli/help-cache.js) declares the text. */
const HELP_DECLARATION = '\nexport const ROOT_HELP = ';

/** The stream root help goes to for these args (as src/cli/fast-path.ts's rootHelpStream), or undefined. */
function rootHelpStream(args) {
  if (args.length === 0) return process.stderr;
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h' || args[0] === 'help')) return process.stdout;
  return undefined;
}

/**
 * The root help `npm run build` rendered at 80 columns, if this stream would get it at that width (a pipe,
 * or a terminal of 80 columns) and the cache is as new as the build; undefined: the live program renders.
 */
function cachedRootHelp(stream) {
  if (stream.isTTY && (stream.columns ?? 80) !== 80) return undefined;
  const cache = path.join(BUILT_CLI, 'help-cache.js');
  const cached = fs.statSync(cache, { throwIfNoEntry: false });
  // A build by `tsc` alone rewrites every module after the cache was written: an older cache is never trusted.
  const built = fs.statSync(path.join(BUILT_CLI, 'fast-path.js'), { throwIfNoEntry: false });
  if (cached === undefined || built === undefined || cached.mtimeMs < built.mtimeMs) return undefined;
  try {
    const source = fs.readFileSync(cache, 'utf8');
    const at = source.indexOf(HELP_DECLARATION);
    const text = at < 0 ? undefined : JSON.parse(source.slice(at + HELP_DECLARATION.length, source.lastIndexOf(';')));
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined; // a damaged cache: the live program renders help
  }
}

function answerRootHelp(args) {
  const stream = rootHelpStream(args);
  const text = stream === undefined ? undefined : cachedRootHelp(stream);
  if (text === undefined) return false;
  // A closed pipe (`clawback --help | head`) is not an error, as in main's run().
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  stream.write(text);
  return true;
}

// NODE_EXTRA_CA_CERTS is read (and every certificate in it parsed: ~40 ms for a system bundle) when node
// starts, though only `--ping` makes this process open a TLS connection: the sh line above holds it
// back from node for any other command, and it is put back here for every child (hooks, restic, ssh).
if (process.env.CLAWBACK_NODE_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.CLAWBACK_NODE_EXTRA_CA_CERTS;
  delete process.env.CLAWBACK_NODE_EXTRA_CA_CERTS;
}

const args = process.argv.slice(2);
if (!answerRootHelp(args)) {
  (async () => {
    // --version needs neither commander nor any command (src/cli/fast-path.ts); anything else loads only main.
    const version = args.length === 1 && (args[0] === '-v' || args[0] === '--version');
    if (version && (await (await import('../dist/src/cli/fast-path.js')).fastPath(args))) return;
    // A verify's hashing workers start now, booting while main loads (src/cli/verify-early.ts).
    const early = args[1] === 'snapshot' && args[2] === 'verify' ? import('../dist/src/cli/verify-early.js').then((m) => m.startVerifyEarly()) : undefined;
    const { run } = await import('../dist/src/cli/main.js');
    await early?.catch(() => undefined);
    await run();
  })();
}
