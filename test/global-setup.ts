import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** What `npm run build` compiles (tsconfig.json's include), plus what decides how it is compiled. */
const SOURCES = ['src', 'fixtures', 'bench', 'bin', 'tsconfig.json', 'package.json'];
const DIST = 'dist';

/** Newest mtime of any file at or below `target`; 0 when there is none. */
function newestMtime(target: string): number {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of fs.readdirSync(target, { withFileTypes: true })) {
    newest = Math.max(newest, newestMtime(path.join(target, entry.name)));
  }
  return newest;
}

/** The newest source file that is newer than everything in dist/, or undefined when dist/ is current. */
export function staleBecauseOf(repo: string): string | undefined {
  const built = newestMtime(path.join(repo, DIST));
  if (built === 0) return `${DIST}/ is missing`;
  for (const source of SOURCES) {
    if (newestMtime(path.join(repo, source)) > built) return `${source} changed after the last build`;
  }
  return undefined;
}

/**
 * The e2e tests spawn the built binary: running them against a stale dist/ tests old code. `npm test`
 * builds first; this covers `npx vitest run` straight after an edit.
 */
export default function setup(): void {
  const reason = staleBecauseOf(REPO);
  if (reason === undefined) return;
  process.stderr.write(`global setup: ${reason}; running npm run build\n`);
  try {
    execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    throw new Error(`dist/ is stale (${reason}) and \`npm run build\` failed: fix the build errors above, then run the tests again`);
  }
}
