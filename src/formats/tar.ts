import fs from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Header, Parser, Pax, type ReadEntry } from 'tar';
import { ClawbackError, IntegrityError } from '../errors.js';
import { assertRelativePath } from '../fs-safety/safe-path.js';
import { tempSibling } from '../store/atomic.js';
import { ArchiveGuard, type ArchiveEntryType, type ArchiveLimits } from './archive-guard.js';
import { ChunkedOutput, createTempOutput, isSystemError, publishFile, writeAll } from './file-io.js';
import { emptySummary, ExtractTarget, MappedPaths, type EntryPathMap, type ExtractSummary } from './extract-target.js';

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

export interface TarEntryInfo {
  name: string;
  type: ArchiveEntryType;
  size: number;
  mode: number | undefined;
  mtime: Date | undefined;
  linkTarget: string | undefined;
}

export interface ReadTarOptions {
  /** Whether the file is gzip-compressed; sniffed from its first bytes when left out. */
  gzip?: boolean;
}

export interface ExtractTarOptions extends ReadTarOptions {
  /** Symlink entries are refused unless this allows them (and they stay inside). */
  allowSymlinks?: (name: string, target: string) => boolean;
  limits?: Partial<ArchiveLimits>;
  agentIdRoots?: readonly string[];
  /** Give files their archived mode minus group/other write and special bits, instead of 0600. */
  preserveModes?: boolean;
}

const BLOCK = 512;
const READ_CHUNK = 1024 * 1024;

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

  const temp = tempSibling(dest);
  const out = createTempOutput(temp);
  try {
    const source = Readable.from(blocks(), { objectMode: false });
    const stages: NodeJS.ReadWriteStream[] = [];
    if (options.gzip) stages.push(zlib.createGzip({ level: options.level ?? 6, chunkSize: 256 * 1024 }));
    if (options.through) stages.push(options.through);
    await pipeline([source, ...stages, out]);
    publishFile(temp, dest);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  return summary;
}

/** Lists a tar archive's entries without extracting or judging them. */
export async function readTarEntries(file: string, options: ReadTarOptions = {}): Promise<TarEntryInfo[]> {
  const list: TarEntryInfo[] = [];
  await scanTar(file, options.gzip, (info) => {
    list.push(info);
  });
  return list;
}

/**
 * Extracts a tar archive under `destRoot` (created if missing). Every entry
 * is checked by an ArchiveGuard and mapped in a first pass; nothing is
 * written unless all pass. Files are created 0600 (never over an existing
 * file), directories 0700. On a failure in the second pass what was already
 * written stays: extract into a staging directory you remove on error.
 */
export async function extractTar(
  file: string,
  destRoot: string,
  map: EntryPathMap,
  options: ExtractTarOptions = {},
): Promise<ExtractSummary> {
  const gzip = options.gzip ?? sniffGzip(file);
  const guardOptions = {
    ...(options.allowSymlinks ? { allowSymlink: options.allowSymlinks } : {}),
    ...(options.agentIdRoots ? { agentIdRoots: options.agentIdRoots } : {}),
  };
  const guard = new ArchiveGuard(options.limits, guardOptions);
  const mapped = new MappedPaths(map);
  const plan: PlannedEntry[] = [];
  await scanTar(file, gzip, (info) => {
    const name = guard.check(info);
    const rel = mapped.resolve(name);
    plan.push({ info, rel });
  });

  fs.mkdirSync(destRoot, { recursive: true, mode: 0o700 });
  const target = new ExtractTarget(destRoot);
  const summary = emptySummary();
  let index = 0;
  let openFd: number | undefined;
  try {
    await scanTar(file, gzip, (info, entry, fail) => {
      const planned = plan[index++];
      if (!planned || !sameEntry(planned.info, info)) {
        throw new IntegrityError('corrupt-archive', `${file} changed while it was being extracted`);
      }
      const { rel } = planned;
      if (rel === null) {
        summary.skipped += 1;
        return;
      }
      if (info.type === 'directory') {
        target.directory(rel);
        summary.directories += 1;
      } else if (info.type === 'symlink') {
        target.symlink(rel, info.linkTarget ?? '');
        summary.symlinks += 1;
      } else {
        const mode = options.preserveModes ? (info.mode ?? 0o600) & 0o755 : 0o600;
        const fd = target.createFile(rel, mode);
        summary.files += 1;
        if (info.size === 0 || entry === null) {
          fs.closeSync(fd);
          return;
        }
        openFd = fd;
        let written = 0;
        entry.on('data', (chunk: Buffer) => {
          try {
            writeAll(fd, chunk);
            written += chunk.length;
          } catch (error) {
            fail(error);
          }
        });
        entry.on('end', () => {
          fs.closeSync(fd);
          openFd = undefined;
          summary.bytes += written;
          if (written !== info.size) fail(corruptTar(file, `entry ${JSON.stringify(info.name)} is truncated`));
        });
      }
    });
  } finally {
    if (openFd !== undefined) fs.closeSync(openFd);
  }
  return summary;
}

interface PlannedEntry {
  info: TarEntryInfo;
  rel: string | null;
}

function sameEntry(a: TarEntryInfo, b: TarEntryInfo): boolean {
  return a.name === b.name && a.type === b.type && a.size === b.size && a.linkTarget === b.linkTarget;
}

type TarVisitor = (info: TarEntryInfo, entry: ReadEntry | null, fail: (error: unknown) => void) => void;

/**
 * Streams the archive through node-tar's parser, handing each entry to
 * `visit` synchronously. Entries the parser skips (unknown types, oversized
 * metadata) are reported as type 'other' so the guard can refuse them.
 */
async function scanTar(file: string, gzip: boolean | undefined, visit: TarVisitor): Promise<void> {
  const parser = new Parser({ strict: true });
  let failure: unknown;
  const fail = (error: unknown): void => {
    failure ??= error;
  };
  parser.on('entry', (entry: ReadEntry) => {
    if (failure === undefined) {
      try {
        visit(describe(entry), entry, fail);
      } catch (error) {
        fail(error);
      }
    }
    entry.resume();
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    if (failure !== undefined) return;
    try {
      visit({ ...describe(entry), type: 'other' }, null, fail);
    } catch (error) {
      fail(error);
    }
  });
  parser.on('error', fail);

  // node-tar calls an archive without entries unrecognised; GNU tar and writeTar produce them.
  let onlyZeros = true;
  let zeroBytes = 0;
  let entries = 0;
  parser.on('entry', () => (entries += 1));
  parser.on('ignoredEntry', () => (entries += 1));

  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      if (onlyZeros) {
        onlyZeros = isAllZero(chunk);
        zeroBytes += chunk.length;
      }
      const more = parser.write(chunk);
      if (failure !== undefined) break;
      if (!more) await until(parser, 'drain');
      if (failure !== undefined) break;
    }
    if (failure === undefined) {
      const ended = until(parser, 'end');
      parser.end();
      await ended;
    }
  };
  try {
    const input = fs.createReadStream(file, { highWaterMark: READ_CHUNK });
    if (gzip ?? sniffGzip(file)) {
      await pipeline(input, zlib.createGunzip({ chunkSize: 256 * 1024 }), sink);
    } else {
      await pipeline(input, sink);
    }
  } catch (error) {
    fail(error);
  }
  if (failure === undefined) return;
  if (entries === 0 && onlyZeros && zeroBytes >= 2 * BLOCK && tarCode(failure) === 'TAR_BAD_ARCHIVE') return;
  throw asTarError(failure, file);
}

function isAllZero(chunk: Buffer): boolean {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) return false;
  return true;
}

function tarCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'tarCode' in error ? (error as { tarCode: unknown }).tarCode : undefined;
}

function until(parser: Parser, event: string): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      parser.off(event, done);
      parser.off('error', done);
      resolve();
    };
    parser.on(event, done);
    parser.on('error', done);
  });
}

function describe(entry: ReadEntry): TarEntryInfo {
  return {
    name: entry.path,
    type: entryType(entry.type),
    size: entry.size,
    mode: entry.mode,
    mtime: entry.mtime,
    linkTarget: entry.type === 'SymbolicLink' || entry.type === 'Link' ? (entry.linkpath ?? '') : undefined,
  };
}

function entryType(type: string): ArchiveEntryType {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      return 'device';
    default:
      return 'other';
  }
}

function asTarError(error: unknown, file: string): Error {
  if (error instanceof ClawbackError) return error;
  // fs errors on the archive itself or the destination keep their own meaning.
  if (isSystemError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return corruptTar(file, message);
}

function corruptTar(file: string, why: string): IntegrityError {
  return new IntegrityError('corrupt-archive', `${file} is not a readable tar archive: ${why}`);
}

function sniffGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return fs.readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
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
    const fd = fs.openSync(entry.file, 'r');
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
