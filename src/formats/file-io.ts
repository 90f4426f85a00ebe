import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError } from '../errors.js';
import { fsyncDir, tempSibling } from '../store/atomic.js';

export function writeAll(fd: number, chunk: Uint8Array): void {
  let offset = 0;
  while (offset < chunk.length) offset += fs.writeSync(fd, chunk, offset, chunk.length - offset);
}

/** An error from a system call (it names the call), as opposed to one about the archive's contents. */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return typeof error === 'object' && error !== null && typeof (error as { syscall?: unknown }).syscall === 'string';
}

/**
 * Publishes a file written by a stream: `write` fills a temp file beside `dest` (created
 * exclusively, 0600), which is then fsync'ed and renamed into place; on failure it is removed.
 */
export async function writeThroughTemp(dest: string, write: (out: fs.WriteStream) => Promise<void>): Promise<void> {
  const temp = tempSibling(dest);
  const fd = fs.openSync(temp, 'wx', 0o600);
  try {
    await write(fs.createWriteStream(temp, { fd }));
    publishFile(temp, dest);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/** Makes a finished temp file durable and moves it to `dest` (same directory). */
function publishFile(temp: string, dest: string): void {
  const fd = fs.openSync(temp, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, dest);
  fsyncDir(path.dirname(dest));
}

const CHUNK = 1024 * 1024;

/**
 * Gathers an archive's many small pieces into 1 MiB buffers, yielded as each
 * fills, so the stream below sees few large writes instead of one per header.
 * File contents are read straight into the buffer with synchronous reads.
 */
export class ChunkedOutput {
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  /** Bytes emitted so far, including those still buffered. */
  offset = 0;

  *bytes(source: Uint8Array): Generator<Buffer> {
    let done = 0;
    while (done < source.length) {
      if (this.pos === this.buf.length) yield* this.rotate();
      const n = Math.min(source.length - done, this.buf.length - this.pos);
      this.buf.set(source.subarray(done, done + n), this.pos);
      this.pos += n;
      done += n;
    }
    this.offset += source.length;
  }

  *zeros(count: number): Generator<Buffer> {
    let remaining = count;
    while (remaining > 0) {
      if (this.pos === this.buf.length) yield* this.rotate();
      const n = Math.min(remaining, this.buf.length - this.pos);
      this.buf.fill(0, this.pos, this.pos + n);
      this.pos += n;
      remaining -= n;
    }
    this.offset += count;
  }

  /** Copies exactly `size` bytes from `fd`; a file that ends early is an error. */
  *fromFd(fd: number, size: number, file: string): Generator<Buffer> {
    let remaining = size;
    while (remaining > 0) {
      if (this.pos === this.buf.length) yield* this.rotate();
      const n = fs.readSync(fd, this.buf, this.pos, Math.min(remaining, this.buf.length - this.pos), null);
      if (n === 0) throw new IntegrityError('source-changed', `${file} shrank while it was being archived`);
      this.pos += n;
      remaining -= n;
    }
    this.offset += size;
  }

  *flush(): Generator<Buffer> {
    if (this.pos > 0) yield this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
  }

  private *rotate(): Generator<Buffer> {
    yield this.buf;
    // The yielded buffer now belongs to the consumer.
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
  }
}
