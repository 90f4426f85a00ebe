import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * clawback's version, read from its package.json: the nearest one above this module whose name is
 * clawback (src/cli/ in a checkout, dist/src/cli/ when built or installed).
 */
export function toolVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'clawback' && typeof pkg.version === 'string') return pkg.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('clawback package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}
