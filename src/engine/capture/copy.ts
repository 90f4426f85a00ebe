import fs from 'node:fs';
import { writeAll } from '../../formats/file-io.js';
import { fsPath } from '../../fs-safety/fs-path.js';
import { NO_FOLLOW, READ_CHUNK, threadReader } from '../../fs-safety/file-reader.js';
import { hasHoles, SparseWriter } from '../../fs-safety/sparse-writer.js';
import { hasSqliteHeader, openFileHasSqliteHeader } from '../../sqlite/detect.js';

export type CopyOutcome = { kind: 'copied'; sha256: string; size: number; sparse?: true } | { kind: 'sqlite' };

export interface CopyOptions {
  /** The size the scan saw: only a file of at least a chunk is asked whether it has holes. */
  size?: number;
  /** Copy the bytes even when they start with the SQLite header (a file SQLite could not read). */
  raw?: boolean;
}

/**
 * Copy one regular file into the bundle, hashing what was read, with sync
 * calls (the per-call cost of async fs dominates on small files). Reads to
 * EOF, since the file may have grown since lstat. A file with the SQLite
 * header is not copied (unless `raw`): the caller backs it up through SQLite.
 * A file with holes is copied with its zero blocks left as holes.
 */
export function copyFileHashed(source: string, dest: string, mode: number, options: CopyOptions = {}): CopyOutcome {
  const input = fs.openSync(fsPath(source), NO_FOLLOW);
  let output: number | undefined;
  try {
    // A large database is told by its first 16 bytes, not by a whole chunk read into this thread's buffer (allocated on its first use: ~4 ms of page faults here).
    if (options.raw !== true && (options.size ?? 0) >= READ_CHUNK && openFileHasSqliteHeader(input)) return { kind: 'sqlite' };
    // One fstat for large files only: ordinary small files take exactly the path they always did.
    const sparse = (options.size ?? 0) >= READ_CHUNK && hasHoles(fs.fstatSync(input));
    let writer: SparseWriter | undefined;
    const digest = threadReader().hash(input, {
      each: (chunk, offset) => {
        if (offset === 0 && options.raw !== true && hasSqliteHeader(chunk)) return false;
        output ??= fs.openSync(fsPath(dest), 'wx', mode);
        if (sparse) (writer ??= new SparseWriter(output)).write(chunk);
        else writeAll(output, chunk);
        return true;
      },
    });
    if (digest === undefined) return { kind: 'sqlite' };
    output ??= fs.openSync(fsPath(dest), 'wx', mode);
    return writer?.finish() ? { kind: 'copied', ...digest, sparse: true } : { kind: 'copied', ...digest };
  } finally {
    if (output !== undefined) fs.closeSync(output);
    fs.closeSync(input);
  }
}
