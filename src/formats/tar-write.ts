import fs from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Header, Pax } from 'tar';
import { fsPath } from '../fs-safety/fs-path.js';
import { assertRelativePath } from '../fs-safety/safe-path.js';
import { ChunkedOutput, writeThroughTemp } from './file-io.js';

export interface TarWriteEntry {
  /** Relative POSIX path; a directory's trailing slash is optional. */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  /** Content of a file entry: read from this path when the entry is written... */
  file?: string;
  /** ...or taken from this buffer. */
  buffer?: Buffer;
  mode: number;
  /** A Date or milliseconds since the epoch. */
  mtime: Date | number;
  linkTarget?: string;
}

export interface WriteTarOptions {
  gzip: boolean;
  /** zlib level, default 6 (as gzip). */
  level?: number;
  /** A stream the finished (compressed) bytes pass through before they are written, e.g. encryption. */
  through?: Transform;
}

export interface WriteTarSummary {
  entries: number;
  /** File content bytes, before compression. */
  bytes: number;
}

const BLOCK = 512;

/**
 * Writes a ustar/pax archive (optionally gzip) to a temp file beside `dest`,
 * then fsyncs and renames it into place with mode 0600. File contents are
 * read with synchronous calls into large output buffers: one async fs call
 * per file would dominate on trees of many small files.
 */
export async function writeTar(
  dest: string,
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  options: WriteTarOptions,
): Promise<WriteTarSummary> {
  const summary: WriteTarSummary = { entries: 0, bytes: 0 };
  const encoder = new TarEncoder();
  async function* blocks(): AsyncGenerator<Buffer> {
    for await (const entry of entries) {
      yield* encoder.entry(entry, summary);
      summary.entries += 1;
    }
    yield* encoder.end();
  }

  await writeThroughTemp(dest, async (out) => {
    const stages: NodeJS.ReadWriteStream[] = [];
    if (options.gzip) stages.push(zlib.createGzip({ level: options.level ?? 6, chunkSize: 256 * 1024 }));
    if (options.through) stages.push(options.through);
    await pipeline([Readable.from(blocks(), { objectMode: false }), ...stages, out]);
  });
  return summary;
}

/**
 * The same archive as a stream (no gzip): for a tar stream written straight into another program,
 * e.g. `tar -xf -` in a remote target. `summary` is filled in as the stream is read.
 */
export function tarStream(entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>, summary: WriteTarSummary = { entries: 0, bytes: 0 }): Readable {
  const encoder = new TarEncoder();
  async function* blocks(): AsyncGenerator<Buffer> {
    for await (const entry of entries) {
      yield* encoder.entry(entry, summary);
      summary.entries += 1;
    }
    yield* encoder.end();
  }
  return Readable.from(blocks(), { objectMode: false });
}

/** Encodes entries as ustar blocks, with a pax header where ustar cannot hold a field. */
class TarEncoder {
  private readonly out = new ChunkedOutput();
  private readonly block = Buffer.alloc(BLOCK);

  *entry(entry: TarWriteEntry, summary: WriteTarSummary): Generator<Buffer> {
    const name = entry.type === 'directory' ? entry.name.replace(/\/$/, '') : entry.name;
    assertRelativePath(name, 'tar entry');
    const mtime = entry.mtime instanceof Date ? entry.mtime : new Date(entry.mtime);
    const mode = entry.mode & 0o7777;
    if (entry.type === 'directory') {
      yield* this.header({ path: name + '/', type: 'Directory', mode, mtime, size: 0 });
      return;
    }
    if (entry.type === 'symlink') {
      if (!entry.linkTarget) throw new TypeError(`tar entry ${name}: a symlink needs a linkTarget`);
      yield* this.header({ path: name, type: 'SymbolicLink', mode, mtime, size: 0, linkpath: entry.linkTarget });
      return;
    }
    if (entry.buffer !== undefined) {
      yield* this.header({ path: name, type: 'File', mode, mtime, size: entry.buffer.length });
      yield* this.out.bytes(entry.buffer);
      yield* this.padding(entry.buffer.length);
      summary.bytes += entry.buffer.length;
      return;
    }
    if (entry.file === undefined) throw new TypeError(`tar entry ${name}: a file needs a file path or a buffer`);
    const fd = fs.openSync(fsPath(entry.file), 'r');
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new TypeError(`tar entry ${name}: ${entry.file} is not a regular file`);
      yield* this.header({ path: name, type: 'File', mode, mtime, size: stat.size });
      yield* this.out.fromFd(fd, stat.size, entry.file);
      yield* this.padding(stat.size);
      summary.bytes += stat.size;
    } finally {
      fs.closeSync(fd);
    }
  }

  *end(): Generator<Buffer> {
    yield* this.out.zeros(2 * BLOCK);
    yield* this.out.flush();
  }

  private *header(data: {
    path: string;
    type: 'File' | 'Directory' | 'SymbolicLink';
    mode: number;
    mtime: Date;
    size: number;
    linkpath?: string;
  }): Generator<Buffer> {
    // uid/gid 0 and no user names: an export should not carry this host's accounts.
    const header = new Header({ ...data, uid: 0, gid: 0, uname: '', gname: '' });
    this.block.fill(0);
    if (header.encode(this.block, 0)) {
      const pax = new Pax({ path: data.path, linkpath: data.linkpath, size: data.size, mtime: data.mtime });
      yield* this.out.bytes(pax.encode());
    }
    yield* this.out.bytes(this.block);
  }

  private *padding(size: number): Generator<Buffer> {
    const rest = size % BLOCK;
    if (rest !== 0) yield* this.out.zeros(BLOCK - rest);
  }
}
