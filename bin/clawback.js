#!/usr/bin/env node
import { fastPath } from '../dist/src/cli/fast-path.js';

// Root help and --version need neither commander nor any command (src/cli/fast-path.ts).
if (!(await fastPath(process.argv.slice(2)))) {
  const { run } = await import('../dist/src/cli/main.js');
  await run();
}
