import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled worker script `name` beside the module at `moduleUrl` (pass `import.meta.url`),
 * or undefined when there is none: running from the TypeScript sources (tests) there is no
 * compiled worker, and the caller then does the work on its own thread.
 */
export function compiledWorker(name: string, moduleUrl: string): string | undefined {
  const file = fileURLToPath(new URL(name, moduleUrl));
  return fs.existsSync(file) ? file : undefined;
}
