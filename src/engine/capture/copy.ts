import fs from 'node:fs';
import { writeAll } from '../../formats/file-io.js';
import { fsPath } from '../../fs-safety/fs-path.js';
import { NO_FOLLOW, threadReader } from '../../fs-safety/file-reader.js';
import { hasSqliteHeader } from '../../sqlite/detect.js';

export type CopyOutcome = { kind: 'copied'; sha256: string; size: number } | { kind: 'sqlite' };

/**
 * Copy one regular file into the bundle, hashing what was read, with sync
 * calls (the per-call cost of async fs dominates on small files). Reads to
 * EOF, since the file may have grown since lstat. A file with the SQLite
 * header is not copied: the caller backs it up through SQLite.
 */
export function copyFileHashed(source: string, dest: string, mode: number): CopyOutcome {
  const input = fs.openSync(fsPath(source), NO_FOLLOW);
  let output: number | undefined;
  try {
    const digest = threadReader().hash(input, {
      each: (chunk, offset) => {
        if (offset === 0 && hasSqliteHeader(chunk)) return false;
        output ??= fs.openSync(fsPath(dest), 'wx', mode);
        writeAll(output, chunk);
        return true;
      },
    });
    if (digest === undefined) return { kind: 'sqlite' };
    output ??= fs.openSync(fsPath(dest), 'wx', mode);
    return { kind: 'copied', ...digest };
  } finally {
    if (output !== undefined) fs.closeSync(output);
    fs.closeSync(input);
  }
}
