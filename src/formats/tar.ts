import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ClawbackError, IntegrityError } from '../errors.js';
import { ArchiveGuard, type ArchiveEntryType, type ArchiveLimits } from './archive-guard.js';
import { isSystemError, writeAll } from './file-io.js';
import { relativePathProblem } from '../fs-safety/safe-path.js';
import { emptySummary, ExtractTarget, MappedPaths, type EntryPathMap, type ExtractSummary } from './extract-target.js';

export { writeTar, type TarWriteEntry, type WriteTarOptions, type WriteTarSummary } from './tar-write.js';

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
  /** Symlink entries are refused unless this allows them (and they stay inside, unless 'managed'). */
  allowSymlinks?: (name: string, target: string) => boolean | 'managed';
  limits?: Partial<ArchiveLimits>;
  agentIdRoots?: readonly string[];
  /** Give files their archived mode minus group/other write and special bits, instead of 0600. */
  preserveModes?: boolean;
  /** The target a symlink entry is written with, given its destination path and its target as archived (default: as archived). */
  linkTargetOf?: (rel: string, archived: string) => string;
}

export interface StreamExtractOptions extends ExtractTarOptions {
  /** The mode a file is created with, given its destination path (default: as preserveModes says). */
  fileMode?: (rel: string) => number;
  /** Called once a file's data is all written, with its size and sha256; what it throws refuses the archive. */
  fileWritten?: (rel: string, size: number, sha256: string) => void;
  /** The map never gives two entries one path (the caller checks it, e.g. against a sorted list): no set of the paths taken is kept. */
  distinctPaths?: boolean;
}

/** Like EntryPathMap, with the entry as archived: one pass can judge it against what it expects next. */
export type StreamEntryMap = (name: string, info: TarEntryInfo) => string | null;

const BLOCK = 512;
const READ_CHUNK = 1024 * 1024;

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
  const plan = await planExtraction(file, gzip, map, options);
  fs.mkdirSync(destRoot, { recursive: true, mode: 0o700 });
  const writer = new EntryWriter(new ExtractTarget(destRoot), file, options);
  let index = 0;
  try {
    await scanTar(file, gzip, (info, entry, fail) => {
      const planned = plan[index++];
      if (!planned || !sameEntry(planned.info, info)) {
        throw new IntegrityError('corrupt-archive', `${file} changed while it was being extracted`);
      }
      writer.write(planned.rel, info, entry, fail);
    });
  } finally {
    writer.close();
  }
  return writer.summary;
}

interface PlannedEntry {
  info: TarEntryInfo;
  rel: string | null;
}

/** The first pass: every entry through the guard and the caller's map, before anything is written. */
async function planExtraction(file: string, gzip: boolean, map: EntryPathMap, options: ExtractTarOptions): Promise<PlannedEntry[]> {
  const guard = guardFor(options);
  const mapped = new MappedPaths(map);
  const plan: PlannedEntry[] = [];
  await scanTar(file, gzip, (info) => {
    const name = guard.check(info);
    plan.push({ info, rel: mapped.resolve(name) });
  });
  return plan;
}

function guardFor(options: ExtractTarOptions): ArchiveGuard {
  // clawback's own tars carry any name POSIX allows
  return new ArchiveGuard(options.limits, {
    pathProblem: relativePathProblem,
    ...(options.allowSymlinks ? { allowSymlink: options.allowSymlinks } : {}),
    ...(options.agentIdRoots ? { agentIdRoots: options.agentIdRoots } : {}),
  });
}

/**
 * Extracts in one pass (one decompression, no list of entries held): each entry is checked by the
 * guard and the caller's map, then written, before the next is read; files can be hashed as they
 * are written (`fileWritten`). A refusal can come after earlier entries were written, so extract
 * into a staging directory that is removed on error.
 */
export async function extractTarStreaming(file: string, destRoot: string, map: StreamEntryMap, options: StreamExtractOptions = {}): Promise<ExtractSummary> {
  const gzip = options.gzip ?? sniffGzip(file);
  const guard = guardFor(options);
  const mapped = new MappedPaths(() => null, options.distinctPaths === true);
  fs.mkdirSync(destRoot, { recursive: true, mode: 0o700 });
  const writer = new EntryWriter(new ExtractTarget(destRoot), file, options);
  try {
    await scanTar(file, gzip, (info, entry, fail) => {
      const name = guard.check(info);
      writer.write(mapped.check(name, map(name, info)), info, entry, fail);
    });
  } finally {
    writer.close();
  }
  return writer.summary;
}

/** The second pass: writes each accepted entry, a file's data as the parser streams it. */
class EntryWriter {
  readonly summary = emptySummary();
  private openFd: number | undefined;

  constructor(
    private readonly target: ExtractTarget,
    private readonly file: string,
    private readonly options: StreamExtractOptions,
  ) {}

  write(rel: string | null, info: TarEntryInfo, entry: ReadEntry | null, fail: (error: unknown) => void): void {
    if (rel === null) {
      this.summary.skipped += 1;
    } else if (info.type === 'directory') {
      this.target.directory(rel);
      this.summary.directories += 1;
    } else if (info.type === 'symlink') {
      const archived = info.linkTarget ?? '';
      this.target.symlink(rel, this.options.linkTargetOf ? this.options.linkTargetOf(rel, archived) : archived);
      this.summary.symlinks += 1;
    } else {
      this.writeFile(rel, info, entry, fail);
    }
  }

  close(): void {
    if (this.openFd !== undefined) fs.closeSync(this.openFd);
    this.openFd = undefined;
  }

  private writeFile(rel: string, info: TarEntryInfo, entry: ReadEntry | null, fail: (error: unknown) => void): void {
    const { fileMode, fileWritten, preserveModes } = this.options;
    const mode = fileMode ? fileMode(rel) : preserveModes === true ? (info.mode ?? 0o600) & 0o755 : 0o600;
    const fd = this.target.createFile(rel, mode);
    this.summary.files += 1;
    const hash = fileWritten ? createHash('sha256') : undefined;
    const done = (written: number): void => {
      if (fileWritten) fileWritten(rel, written, hash!.digest('hex'));
    };
    if (info.size === 0 || entry === null) {
      fs.closeSync(fd);
      done(0);
      return;
    }
    this.openFd = fd;
    let written = 0;
    entry.on('data', (chunk: Buffer) => {
      try {
        writeAll(fd, chunk);
        hash?.update(chunk);
        written += chunk.length;
      } catch (error) {
        fail(error);
      }
    });
    entry.on('end', () => {
      this.close();
      this.summary.bytes += written;
      if (written !== info.size) fail(corruptTar(this.file, `entry ${JSON.stringify(info.name)} is truncated`));
      else {
        try {
          done(written);
        } catch (error) {
          fail(error);
        }
      }
    });
  }
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
  let failure: unknown;
  const fail = (error: unknown): void => {
    failure ??= error;
  };
  const parser = visitingParser(visit, fail, () => failure !== undefined);
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
    if (gzip ?? sniffGzip(file)) await pipeline(input, zlib.createGunzip({ chunkSize: 256 * 1024 }), sink);
    else await pipeline(input, sink);
  } catch (error) {
    fail(error);
  }
  if (failure === undefined) return;
  if (entries === 0 && onlyZeros && zeroBytes >= 2 * BLOCK && tarCode(failure) === 'TAR_BAD_ARCHIVE') return;
  throw asTarError(failure, file);
}

/** A strict parser that hands each entry to `visit` until something has failed; what `visit` throws is a failure. */
function visitingParser(visit: TarVisitor, fail: (error: unknown) => void, failed: () => boolean): Parser {
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    if (!failed()) {
      try {
        visit(describe(entry), entry, fail);
      } catch (error) {
        fail(error);
      }
    }
    entry.resume();
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    if (failed()) return;
    try {
      visit({ ...describe(entry), type: 'other' }, null, fail);
    } catch (error) {
      fail(error);
    }
  });
  parser.on('error', fail);
  return parser;
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

