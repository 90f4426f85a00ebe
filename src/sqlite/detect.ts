import fs from 'node:fs';
import { fsPath } from '../fs-safety/fs-path.js';

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');
export const SQLITE_COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

export function hasSqliteHeader(buffer: Uint8Array): boolean {
  return buffer.length >= HEADER.length && HEADER.equals(buffer.subarray(0, HEADER.length));
}

/** Whether an open file starts with the SQLite header: 16 bytes read at offset 0, the file's position left as it was. */
export function openFileHasSqliteHeader(fd: number): boolean {
  const buffer = Buffer.alloc(HEADER.length);
  return fs.readSync(fd, buffer, 0, HEADER.length, 0) === HEADER.length && hasSqliteHeader(buffer);
}

/** Reads 16 bytes without following symlinks (the caller already lstat'ed a regular file). */
export function isSqliteFile(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(fsPath(file), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const buffer = Buffer.alloc(HEADER.length);
    const read = fs.readSync(fd, buffer, 0, HEADER.length, 0);
    return read === HEADER.length && hasSqliteHeader(buffer);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Whether the header says WAL mode (file format read/write versions 2): such a database is never changed without its -wal. */
export function walModeHeader(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(fsPath(file), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const buffer = Buffer.alloc(20);
    return fs.readSync(fd, buffer, 0, 20, 0) === 20 && hasSqliteHeader(buffer) && buffer[18] === 2 && buffer[19] === 2;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `x.db-wal` → `x.db`, or undefined when the name is no companion. */
export function companionBase(name: string): string | undefined {
  for (const suffix of SQLITE_COMPANION_SUFFIXES) if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  return undefined;
}
