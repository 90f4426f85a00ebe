import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { IntegrityError } from '../../errors.js';
import type { BundleEntry } from '../../manifest/bundle-manifest.js';

const WHOLE_FILE_LIMIT = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;

function openBundleFile(source: string, entry: BundleEntry): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IntegrityError('payload-missing', `${entry.path}: the bundle's copy is missing`, { hint: 'the bundle is damaged; choose another one (`snapshot list`)' });
    if (code === 'ELOOP') throw new IntegrityError('payload-not-a-file', `${entry.path}: the bundle's copy is a symlink`, { hint: 'the bundle was tampered with; it will not be used' });
    throw error;
  }
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    throw new IntegrityError('payload-not-a-file', `${entry.path}: the bundle's copy is not a regular file`);
  }
  return { fd, size: stat.size };
}

export function mismatch(entry: BundleEntry): IntegrityError {
  return new IntegrityError('checksum-mismatch', `${entry.path}: the bundle's copy does not match its sha256 in the manifest`, {
    hint: 'the bundle is damaged; nothing was changed. Choose another snapshot (`snapshot list`) or run `snapshot verify`',
  });
}

/** One buffer for every small file of a restore: a fresh allocation per file is most of the GC work. */
let shared = Buffer.allocUnsafe(0);
let chunk = Buffer.allocUnsafe(0);

/**
 * Reads a (small) bundle file whole and checks it against the manifest. The
 * result is a view of a shared buffer, valid until the next call.
 */
export function readVerified(source: string, entry: BundleEntry): Buffer {
  const { fd, size } = openBundleFile(source, entry);
  try {
    if (size !== entry.size) throw mismatch(entry);
    if (shared.length < size + 1) shared = Buffer.allocUnsafe(Math.max(size + 1, 64 * 1024));
    let length = 0;
    // One byte more than expected, so a file that grew is caught as a mismatch.
    for (;;) {
      const read = fs.readSync(fd, shared, length, size + 1 - length, null);
      if (read === 0) break;
      length += read;
      if (length > size) throw mismatch(entry);
    }
    const bytes = shared.subarray(0, length);
    if (length !== size || createHash('sha256').update(bytes).digest('hex') !== entry.sha256) throw mismatch(entry);
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

/** sha256 of an open file from its current position, in 1 MiB reads. */
export function sha256Of(fd: number): string {
  const hash = createHash('sha256');
  if (chunk.length === 0) chunk = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const read = fs.readSync(fd, chunk, 0, CHUNK, null);
    if (read === 0) break;
    hash.update(chunk.subarray(0, read));
  }
  return hash.digest('hex');
}

/** Streams a bundle file through sha256 without writing it (dry runs, databases). */
export function checkVerified(source: string, entry: BundleEntry): void {
  const { fd, size } = openBundleFile(source, entry);
  try {
    if (size !== entry.size || sha256Of(fd) !== entry.sha256) throw mismatch(entry);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Copies a bundle file to `dest` (which must not exist) while hashing it, and
 * fails with IntegrityError naming the file when the bytes are not the ones
 * the manifest recorded. Small files are checked before anything is written.
 */
export function copyVerified(source: string, dest: string, entry: BundleEntry, mode: number): void {
  if ((entry.size ?? 0) <= WHOLE_FILE_LIMIT) {
    writeStaged(dest, readVerified(source, entry), mode, entry.mtimeMs);
    return;
  }
  const { fd, size } = openBundleFile(source, entry);
  try {
    if (size !== entry.size) throw mismatch(entry);
    const out = fs.openSync(dest, 'wx', 0o600);
    try {
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const read = fs.readSync(fd, buffer, 0, CHUNK, null);
        if (read === 0) break;
        const chunk = buffer.subarray(0, read);
        hash.update(chunk);
        fs.writeSync(out, chunk);
      }
      if (hash.digest('hex') !== entry.sha256) throw mismatch(entry);
      finishFile(out, mode, entry.mtimeMs);
    } finally {
      fs.closeSync(out);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function writeStaged(dest: string, data: Uint8Array | string, mode: number, mtimeMs: number | undefined): void {
  const out = fs.openSync(dest, 'wx', 0o600);
  try {
    fs.writeSync(out, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    finishFile(out, mode, mtimeMs);
  } finally {
    fs.closeSync(out);
  }
}

function finishFile(fd: number, mode: number, mtimeMs: number | undefined): void {
  fs.fchmodSync(fd, mode);
  if (mtimeMs !== undefined) {
    const seconds = mtimeMs / 1000;
    fs.futimesSync(fd, seconds, seconds);
  }
}
