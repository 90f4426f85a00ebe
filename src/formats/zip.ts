import fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { ClawbackError, IntegrityError, RefusedError, errnoCode } from '../errors.js';
import { assertRelativePath } from '../fs-safety/safe-path.js';
import { tempSibling } from '../store/atomic.js';
import { ArchiveGuard, type ArchiveEntryType, type ArchiveLimits } from './archive-guard.js';
import { publishFile, writeAll } from './file-io.js';
import { emptySummary, ExtractTarget, MappedPaths, type EntryPathMap, type ExtractSummary } from './extract-target.js';

export interface ZipEntryInfo {
  /** The stored name, decoded (UTF-8 flag, Info-ZIP unicode path, else CP437), backslashes kept. */
  name: string;
  type: ArchiveEntryType;
  size: number;
  compressedSize: number;
  isDirectory: boolean;
  isSymlink: boolean;
  /** Permission bits from unix external attributes, when the archive was made on unix. */
  mode: number | undefined;
  mtime: Date;
  encrypted: boolean;
  compressionMethod: number;
  crc32: number;
}

export interface ZipWriteEntry {
  /** Relative POSIX path; a trailing slash makes it a directory entry. */
  name: string;
  file?: string;
  buffer?: Buffer;
  mtime?: Date;
  /** Permission bits (the file-type bits are added). */
  mode?: number;
}

export interface ExtractZipOptions {
  limits?: Partial<ArchiveLimits>;
  agentIdRoots?: readonly string[];
}

export interface WriteZipSummary {
  entries: number;
  bytes: number;
}

const UNIX_HOSTS = new Set([3, 19]); // 3 = UNIX, 19 = OS X (APPNOTE 4.4.2)
const S_IFMT = 0o170000;
/** How many file entries yazl may hold queued ahead of the one it is writing. */
const WRITE_WINDOW = 64;

/** Lists a zip's entries from its central directory without extracting or judging them. */
export async function listZip(file: string): Promise<ZipEntryInfo[]> {
  const list: ZipEntryInfo[] = [];
  await scanZip(file, (info) => {
    list.push(info);
  });
  return list;
}

/**
 * Extracts a zip under `destRoot` (created if missing). Every entry is
 * checked by an ArchiveGuard and mapped before anything is written; then a
 * second pass streams the accepted entries, verifying sizes and CRC-32.
 * Files are created 0600 (never over an existing file), directories 0700.
 * On a failure in the second pass what was already written stays: extract
 * into a staging directory you remove on error.
 */
export async function extractZipEntries(
  file: string,
  destRoot: string,
  map: EntryPathMap,
  options: ExtractZipOptions = {},
): Promise<ExtractSummary> {
  const guard = new ArchiveGuard(options.limits, options.agentIdRoots ? { agentIdRoots: options.agentIdRoots } : {});
  const mapped = new MappedPaths(map);
  const plan: Array<{ info: ZipEntryInfo; rel: string | null }> = [];
  await scanZip(file, (info) => {
    const name = guard.check({ name: info.name, type: info.type, size: info.size, compressedSize: info.compressedSize });
    if (info.encrypted) throw new RefusedError('unsupported-archive', `zip entry ${JSON.stringify(info.name)} is encrypted; zip encryption is not supported`);
    if (info.compressionMethod !== 0 && info.compressionMethod !== 8 && info.type === 'file') {
      throw new RefusedError('unsupported-archive', `zip entry ${JSON.stringify(info.name)} uses compression method ${info.compressionMethod}; only stored and deflate are supported`);
    }
    plan.push({ info, rel: mapped.resolve(name) });
  });

  fs.mkdirSync(destRoot, { recursive: true, mode: 0o700 });
  const target = new ExtractTarget(destRoot);
  const summary = emptySummary();
  let index = 0;
  await scanZip(file, async (info, entry, zip) => {
    const planned = plan[index++];
    if (!planned || planned.info.name !== info.name || planned.info.size !== info.size || planned.info.type !== info.type) {
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
      return;
    }
    const fd = target.createFile(rel);
    summary.files += 1;
    try {
      const stream = await openReadStream(zip, entry);
      let crc = 0;
      await pipeline(stream, async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          writeAll(fd, chunk);
          crc = zlib.crc32(chunk, crc);
        }
      });
      if (crc !== info.crc32) throw corruptZip(file, `entry ${JSON.stringify(info.name)} fails its CRC-32 check`);
      summary.bytes += info.size;
    } finally {
      fs.closeSync(fd);
    }
  });
  return summary;
}

/**
 * Writes a deflate zip to a temp file beside `dest`, then fsyncs and renames
 * it into place with mode 0600. Entries are written in the order given.
 */
export async function writeZip(
  dest: string,
  entries: AsyncIterable<ZipWriteEntry> | Iterable<ZipWriteEntry>,
): Promise<WriteZipSummary> {
  const summary: WriteZipSummary = { entries: 0, bytes: 0 };
  const zip = new yazl.ZipFile();
  const temp = tempSibling(dest);
  const out = fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 });
  const written = pipeline(zip.outputStream, out);

  let failure: unknown;
  let wake: (() => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    zip.on('error', (error: unknown) => {
      failure ??= error;
      wake?.();
      reject(error);
    });
  });
  failed.catch(() => undefined);
  written.catch(() => undefined);

  // yazl queues every added entry, so hold back until it has started on the
  // entry WRITE_WINDOW places earlier: memory stays flat in the entry count.
  let added = 0;
  let started = 0;
  const waitForRoom = async (): Promise<void> => {
    while (added - started >= WRITE_WINDOW && failure === undefined) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  const addAll = async (): Promise<void> => {
    for await (const entry of entries) {
      if (failure !== undefined) return;
      const isDirectory = entry.name.endsWith('/');
      assertRelativePath(isDirectory ? entry.name.slice(0, -1) : entry.name, 'zip entry');
      const mtime = entry.mtime ?? new Date();
      if (isDirectory) {
        zip.addEmptyDirectory(entry.name, { mtime, mode: 0o040000 | ((entry.mode ?? 0o700) & 0o7777) });
      } else if (entry.buffer !== undefined) {
        zip.addBuffer(entry.buffer, entry.name, { mtime, mode: 0o100000 | ((entry.mode ?? 0o600) & 0o7777), compress: true });
        summary.bytes += entry.buffer.length;
      } else if (entry.file !== undefined) {
        await waitForRoom();
        const source = entry.file;
        const size = fs.statSync(source).size;
        added += 1;
        zip.addReadStreamLazy(
          entry.name,
          { mtime, mode: 0o100000 | ((entry.mode ?? 0o600) & 0o7777), compress: true, size },
          (callback) => {
            started += 1;
            wake?.();
            callback(null, readSmallOrStream(source, size));
          },
        );
        summary.bytes += size;
      } else {
        throw new TypeError(`zip entry ${entry.name}: a file needs a file path or a buffer`);
      }
      summary.entries += 1;
    }
    zip.end();
  };

  try {
    await Promise.race([addAll(), failed]);
    await Promise.race([written, failed]);
    publishFile(temp, dest);
  } catch (error) {
    out.destroy();
    fs.rmSync(temp, { force: true });
    throw error;
  }
  return summary;
}

/** Small files are read in one sync call: a stream per small file costs far more than the read. */
function readSmallOrStream(file: string, size: number): Readable {
  if (size > 1024 * 1024) return fs.createReadStream(file);
  const stream = new PassThrough();
  stream.end(fs.readFileSync(file));
  return stream;
}

type ZipVisitor = (info: ZipEntryInfo, entry: yauzl.Entry, zip: yauzl.ZipFile) => void | Promise<void>;

async function scanZip(file: string, visit: ZipVisitor): Promise<void> {
  const zip = await openZip(file);
  let failure: unknown;
  // yauzl may emit an error between our reads; keep it for the next await.
  zip.on('error', (error: unknown) => {
    failure ??= error;
  });
  try {
    for (;;) {
      const entry = await nextEntry(zip);
      if (failure !== undefined) throw failure;
      if (entry === null) return;
      await visit(describe(entry), entry, zip);
    }
  } catch (error) {
    throw asZipError(error, file);
  } finally {
    zip.close();
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings off: yauzl would rewrite backslashes and reject bad names
    // with an anonymous error; the guard must see the name and name it.
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (error, zip) => {
      if (error) reject(asZipError(error, file));
      else resolve(zip);
    });
  });
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry): void => {
      cleanup();
      resolve(entry);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (error: unknown): void => {
      cleanup();
      reject(error);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function openReadStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream)));
  });
}

interface RawNameDecoder {
  getFileNameLowLevel?: (flags: number, raw: Buffer, extraFields: Array<{ id: number; data: Buffer }>, strict: boolean) => string;
}

function describe(entry: yauzl.Entry): ZipEntryInfo {
  const name = decodeName(entry);
  const hostIsUnix = UNIX_HOSTS.has(entry.versionMadeBy >>> 8);
  const unixMode = hostIsUnix ? entry.externalFileAttributes >>> 16 : 0;
  const type = zipEntryType(name, unixMode, entry.externalFileAttributes);
  return {
    name,
    type,
    size: entry.uncompressedSize,
    compressedSize: entry.compressedSize,
    isDirectory: type === 'directory',
    isSymlink: type === 'symlink',
    mode: unixMode === 0 ? undefined : unixMode & 0o7777,
    mtime: entry.getLastModDate(),
    encrypted: entry.isEncrypted(),
    compressionMethod: entry.compressionMethod,
    crc32: entry.crc32,
  };
}

function decodeName(entry: yauzl.Entry): string {
  // With decodeStrings off, fileName holds the raw bytes (the typings predate that option).
  const raw: unknown = (entry as unknown as { fileName: unknown }).fileName;
  if (!Buffer.isBuffer(raw)) return String(raw);
  const decoder = (yauzl as unknown as RawNameDecoder).getFileNameLowLevel;
  if (typeof decoder === 'function') return decoder(entry.generalPurposeBitFlag, raw, entry.extraFields, true);
  return raw.toString((entry.generalPurposeBitFlag & 0x800) !== 0 ? 'utf8' : 'latin1');
}

function zipEntryType(name: string, unixMode: number, externalAttributes: number): ArchiveEntryType {
  switch (unixMode & S_IFMT) {
    case 0o120000:
      return 'symlink';
    case 0o040000:
      return 'directory';
    case 0o100000:
      return 'file';
    case 0o020000:
    case 0o060000:
    case 0o010000:
      return 'device';
    case 0:
      // No unix type bits: a trailing slash or the MS-DOS directory attribute marks a directory.
      return name.endsWith('/') || (externalAttributes & 0x10) !== 0 ? 'directory' : 'file';
    default:
      return 'other';
  }
}

function asZipError(error: unknown, file: string): Error {
  if (error instanceof ClawbackError) return error;
  if (errnoCode(error) !== undefined) return error as Error;
  const message = error instanceof Error ? error.message : String(error);
  return corruptZip(file, message);
}

function corruptZip(file: string, why: string): IntegrityError {
  return new IntegrityError('corrupt-archive', `${file} is not a readable zip archive: ${why}`);
}
