import fs from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CliIo } from './context.js';
import { HELP_CACHE_MODULE } from './fast-path.js';
import { main } from './main.js';

/** A stream that keeps what is written to it. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** What the live program prints for these args into a pipe (80 columns), or a terminal of `columns`; no colour. */
export async function renderLive(args: string[], columns?: number): Promise<{ stdout: string; stderr: string; code: number }> {
  const out = collector();
  const err = collector();
  const io: CliIo = {
    stdout: out.stream,
    stderr: err.stream,
    stdinIsTTY: false,
    stderrIsTTY: false,
    ...(columns !== undefined ? { columns } : {}),
    env: { NO_COLOR: '1' },
    cwd: '/',
    homedir: '/nonexistent',
    prompt: async () => '',
  };
  const code = await main(args, io);
  return { stdout: out.text(), stderr: err.text(), code };
}

/**
 * The module `npm run build` writes next to fast-path.js: the root help as the live program renders it.
 * The launcher (bin/clawback.js, CommonJS) reads it as text: the JSON string after `\nexport const ROOT_HELP = `.
 */
export function helpCacheSource(help: string): string {
  return `// Written by \`npm run build\` (src/cli/help-cache-build.ts): \`clawback --help\` at 80 columns. Do not edit.\nexport const ROOT_HELP = ${JSON.stringify(help)};\n`;
}

/** Renders root help and writes the cache beside the built fast path (dist/src/cli/). */
export async function writeHelpCache(): Promise<string> {
  const { stdout, code } = await renderLive(['--help']);
  if (code !== 0 || stdout === '') throw new Error(`clawback --help exited ${code} with ${stdout.length} characters: no help cache written`);
  const file = fileURLToPath(new URL(`./${HELP_CACHE_MODULE}`, import.meta.url));
  // Written after the rest of the build, so its mtime says it is current (the launcher trusts no older cache).
  fs.writeFileSync(`${file}.tmp`, helpCacheSource(stdout));
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeHelpCache();
}
