import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';
import { IntegrityError } from '../../errors.js';
import { writeAll } from '../../formats/file-io.js';
import { FileReader, NO_FOLLOW, sha256Hex, threadReader, WHOLE_FILE_LIMIT } from '../../fs-safety/file-reader.js';
import { SparseWriter } from '../../fs-safety/sparse-writer.js';
import type { BundleEntry } from '../../manifest/bundle-manifest.js';

function openBundleFile(source: string, entry: BundleEntry): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(source), NO_FOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IntegrityError('payload-missing', `${entry.path}: the bundle's copy is missing`, { hint: 'the bundle is damaged; choose another one (`snapshot list`)', cause: error });
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

/** Opens a bundle file, hands it to `use` when its size is the manifest's, and closes it. */
function withBundleFile<T>(source: string, entry: BundleEntry, use: (fd: number) => T): T {
  const { fd, size } = openBundleFile(source, entry);
  try {
    if (size !== entry.size) throw mismatch(entry);
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readWholeChecked(fd: number, entry: BundleEntry, reader: FileReader): Buffer {
  const bytes = reader.readExactly(fd, entry.size ?? 0);
  if (bytes === undefined || sha256Hex(bytes) !== entry.sha256) throw mismatch(entry);
  return bytes;
}

function hashChecked(fd: number, entry: BundleEntry, reader: FileReader): void {
  const digest = reader.hash(fd);
  if (digest.size !== entry.size || digest.sha256 !== entry.sha256) throw mismatch(entry);
}

/**
 * Reads a bundle file whole and checks it against the manifest. The result
 * is a view of the reader's buffer, valid until its next call.
 */
export function readVerified(source: string, entry: BundleEntry, reader = threadReader()): Buffer {
  return withBundleFile(source, entry, (fd) => readWholeChecked(fd, entry, reader));
}

/** Streams a bundle file through sha256 without writing it (dry runs, databases). */
export function checkVerified(source: string, entry: BundleEntry): void {
  withBundleFile(source, entry, (fd) => hashChecked(fd, entry, threadReader()));
}

/**
 * A bundle file for an archive writer, checked against the manifest: a small
 * one whole (a view of the reader's buffer), a larger one hashed first and then
 * named by path, for the writer to stream.
 */
export function readForArchive(source: string, entry: BundleEntry, reader: FileReader): { buffer: Buffer } | { file: string } {
  return withBundleFile(source, entry, (fd) => {
    if ((entry.size ?? 0) <= WHOLE_FILE_LIMIT) return { buffer: readWholeChecked(fd, entry, reader) };
    hashChecked(fd, entry, reader);
    return { file: source };
  });
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
  withBundleFile(source, entry, (fd) => {
    const out = fs.openSync(fsPath(dest), 'wx', 0o600);
    try {
      // A copy recorded as sparse is written back with its zero blocks as holes.
      const sparse = entry.sparse === true ? new SparseWriter(out) : undefined;
      const digest = threadReader().hash(fd, { each: (chunk) => (sparse ? sparse.write(chunk) : writeAll(out, chunk)) });
      sparse?.finish();
      if (digest === undefined || digest.sha256 !== entry.sha256 || digest.size !== entry.size) throw mismatch(entry);
      finishFile(out, mode, entry.mtimeMs);
    } finally {
      fs.closeSync(out);
    }
  });
}

export function writeStaged(dest: string, data: Uint8Array | string, mode: number, mtimeMs: number | undefined): void {
  const out = fs.openSync(fsPath(dest), 'wx', 0o600);
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

/**
 * Hands a bundle file's bytes to `write` in order, checked against the manifest: a small file is
 * checked whole before its first byte is written; a larger one is hashed as it streams, and a
 * mismatch then says how many bytes were already written. Returns the bytes written.
 */
export function streamVerified(source: string, entry: BundleEntry, write: (chunk: Uint8Array) => void): number {
  if ((entry.size ?? 0) <= WHOLE_FILE_LIMIT) {
    const bytes = readVerified(source, entry);
    write(bytes);
    return bytes.length;
  }
  return withBundleFile(source, entry, (fd) => {
    let written = 0;
    const digest = threadReader().hash(fd, {
      each: (chunk) => {
        write(chunk);
        written += chunk.length;
      },
    });
    if (digest === undefined || digest.sha256 !== entry.sha256 || digest.size !== entry.size) {
      throw new IntegrityError('checksum-mismatch', `${entry.path}: the bundle's copy does not match its sha256 in the manifest; ${written} byte(s) were already written`, {
        hint: 'discard the output; the bundle is damaged. Choose another snapshot (`snapshot list`) or run `snapshot verify`',
      });
    }
    return written;
  });
}
