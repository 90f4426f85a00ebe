import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../store/atomic.js';

export function writeAll(fd: number, chunk: Uint8Array): void {
  let offset = 0;
  while (offset < chunk.length) offset += fs.writeSync(fd, chunk, offset, chunk.length - offset);
}

/** Makes a finished temp file durable and moves it to `dest` (same directory). */
export function publishFile(temp: string, dest: string): void {
  const fd = fs.openSync(temp, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, dest);
  fsyncDir(path.dirname(dest));
}
