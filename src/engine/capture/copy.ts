import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { hasSqliteHeader } from '../../sqlite/detect.js';

const WHOLE_FILE_LIMIT = 1024 * 1024;
const CHUNK = 1024 * 1024;

export type CopyOutcome = { kind: 'copied'; sha256: string; size: number } | { kind: 'sqlite' };

/**
 * Copy one regular file into the bundle, hashing what was read. Small files go
 * through one sync read and write (the per-call cost of async fs dominates
 * here); large ones stream in 1 MiB chunks so memory stays flat. A file with
 * the SQLite header is not copied: the caller backs it up through SQLite.
 */
export function copyFileHashed(source: string, dest: string, mode: number, size: number): CopyOutcome {
  const input = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    if (size <= WHOLE_FILE_LIMIT) {
      const data = readAll(input, size);
      if (hasSqliteHeader(data)) return { kind: 'sqlite' };
      const output = fs.openSync(dest, 'wx', mode);
      try {
        fs.writeSync(output, data);
      } finally {
        fs.closeSync(output);
      }
      return { kind: 'copied', sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
    }
    const buffer = Buffer.allocUnsafe(CHUNK);
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
        fs.writeSync(output, chunk);
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

/** Reads to EOF (the file may have grown since lstat). */
function readAll(fd: number, expected: number): Buffer {
  // One spare byte, so the read that finds EOF does not need to grow the buffer.
  let buffer = Buffer.allocUnsafe(expected + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
  }
  return buffer.subarray(0, length);
}

/** sha256 of a file, streamed in chunks with sync reads. */
export function hashFile(file: string): { sha256: string; size: number } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK);
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
