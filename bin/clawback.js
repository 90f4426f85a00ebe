#!/bin/sh
":" //# sh runs this line, node skips it: a young generation of 4 MiB halves the memory of a large snapshot at the same speed ; exec node --max-semi-space-size=4 "$0" "$@"
import { run } from '../dist/src/cli/main.js';

await run();
