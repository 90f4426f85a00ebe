import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { hasSqliteHeader } from '../../sqlite/detect.js';

const CHUNK = 1024 * 1024;

let scratch: Buffer | undefined;

/**
 * One 1 MiB buffer per thread, reused for every file: a fresh buffer per file
 * was most of the garbage (and the peak memory) of copying 40,000 files. Safe
 * because every use below reads, hashes and writes synchronously.
 */
function scratchBuffer(): Buffer {
  scratch ??= Buffer.allocUnsafe(CHUNK);
  return scratch;
}

export type CopyOutcome = { kind: 'copied'; sha256: string; size: number } | { kind: 'sqlite' };

function writeFully(fd: number, chunk: Buffer): void {
  let offset = 0;
  while (offset < chunk.length) offset += fs.writeSync(fd, chunk, offset, chunk.length - offset);
}

/**
 * Copy one regular file into the bundle, hashing what was read, in 1 MiB
 * chunks with sync calls (the per-call cost of async fs dominates on small
 * files). Reads to EOF, since the file may have grown since lstat. A file with
 * the SQLite header is not copied: the caller backs it up through SQLite.
 */
export function copyFileHashed(source: string, dest: string, mode: number): CopyOutcome {
  const input = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const buffer = scratchBuffer();
    const hash = createHash('sha256');
    let total = 0;
    let output: number | undefined;
    try {
      for (;;) {
        const read = fs.readSync(input, buffer, 0, CHUNK, null);
        if (read === 0) break;
        const chunk = buffer.subarray(0, read);
        if (total === 0 && hasSqliteHeader(chunk)) return { kind: 'sqlite' };
        output ??= fs.openSync(dest, 'wx', mode);
        writeFully(output, chunk);
        hash.update(chunk);
        total += read;
      }
      output ??= fs.openSync(dest, 'wx', mode);
    } finally {
      if (output !== undefined) fs.closeSync(output);
    }
    return { kind: 'copied', sha256: hash.digest('hex'), size: total };
  } finally {
    fs.closeSync(input);
  }
}

/** sha256 of a file, streamed in chunks with sync reads. */
export function hashFile(file: string): { sha256: string; size: number } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    const buffer = scratchBuffer();
    let size = 0;
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
      size += read;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    fs.closeSync(fd);
  }
}
