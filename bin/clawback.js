#!/bin/sh
":" //# sh runs this line, node skips it: a young generation of 4 MiB halves the memory of a large snapshot at the same speed ; exec node --max-semi-space-size=4 "$0" "$@"
import { fastPath } from '../dist/src/cli/fast-path.js';

// Root help and --version need neither commander nor any command (src/cli/fast-path.ts).
if (!(await fastPath(process.argv.slice(2)))) {
  const { run } = await import('../dist/src/cli/main.js');
  await run();
}
