import fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { ClawbackError, IntegrityError, RefusedError } from '../errors.js';
import { ArchiveGuard, type ArchiveEntryType, type ArchiveLimits } from './archive-guard.js';
import { isSystemError, writeAll } from './file-io.js';
import { emptySummary, ExtractTarget, MappedPaths, type EntryPathMap, type ExtractSummary } from './extract-target.js';

export { writeZip, type WriteZipOptions, type WriteZipSummary, type ZipWriteEntry } from './zip-writer.js';

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

export interface ExtractZipOptions {
  limits?: Partial<ArchiveLimits>;
  agentIdRoots?: readonly string[];
}

const UNIX_HOSTS = new Set([3, 19]); // 3 = UNIX, 19 = OS X (APPNOTE 4.4.2)
const S_IFMT = 0o170000;
/** Entries up to this size are read and inflated in one go. */
const SMALL_ENTRY = 4 * 1024 * 1024;
/** yauzl's raw-bytes option; the typings predate it. */
const RAW = { decodeFileData: false } as unknown as yauzl.ZipFileOptions;

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
      const crc = await copyEntryData(zip, entry, info, fd, file);
      if (crc !== info.crc32) throw corruptZip(file, `entry ${JSON.stringify(info.name)} fails its CRC-32 check`);
      summary.bytes += info.size;
    } finally {
      fs.closeSync(fd);
    }
  });
  return summary;
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
  const fd = fs.openSync(file, 'r');
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  const reader = new SyncFileReader(fd);
  return new Promise((resolve, reject) => {
    // decodeStrings off: yauzl would rewrite backslashes and reject bad names
    // with an anonymous error; the guard must see the name and name it.
    const options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true };
    yauzl.fromRandomAccessReader(reader, size, options, (error, zip) => {
      if (error) {
        reader.closeNow();
        reject(asZipError(error, file));
      } else {
        resolve(zip);
      }
    });
  });
}

/**
 * Serves yauzl's reads with synchronous preads. yauzl's own reader makes
 * several thread-pool round trips per entry, which measured about 1 ms per
 * entry; these reads cost microseconds.
 */
class SyncFileReader extends yauzl.RandomAccessReader {
  private open = true;

  constructor(private readonly fd: number) {
    super();
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    // yauzl reads bytesRead from a second argument the typings leave out.
    const done = callback as (err: Error | null, bytesRead?: number) => void;
    let bytesRead: number;
    try {
      bytesRead = fs.readSync(this.fd, buffer, offset, length, position);
    } catch (error) {
      queueMicrotask(() => done(error instanceof Error ? error : new Error(String(error))));
      return;
    }
    queueMicrotask(() => done(null, bytesRead));
  }

  override _readStreamForRange(start: number, end: number): Readable {
    if (end - start > SMALL_ENTRY) return fs.createReadStream('', { fd: this.fd, start, end: end - 1, autoClose: false });
    const stream = new PassThrough();
    try {
      const data = Buffer.allocUnsafe(end - start);
      const n = fs.readSync(this.fd, data, 0, data.length, start);
      stream.end(data.subarray(0, n));
    } catch (error) {
      // Thrown here it would escape through yauzl's callbacks; as a stream error it reaches the reader.
      queueMicrotask(() => stream.destroy(error instanceof Error ? error : new Error(String(error))));
    }
    return stream;
  }

  override close(callback: (err: Error | null) => void): void {
    this.closeNow();
    queueMicrotask(() => callback(null));
  }

  closeNow(): void {
    if (!this.open) return;
    this.open = false;
    fs.closeSync(this.fd);
  }
}

/**
 * Writes one entry's contents to `fd` and returns their CRC-32. Small
 * entries are read raw and inflated in one synchronous call; a stream and a
 * zlib instance per small file cost far more than the inflating.
 */
async function copyEntryData(zip: yauzl.ZipFile, entry: yauzl.Entry, info: ZipEntryInfo, fd: number, file: string): Promise<number> {
  if (info.size > SMALL_ENTRY || info.compressedSize > SMALL_ENTRY) {
    let crc = 0;
    try {
      await pipeline(await openReadStream(zip, entry), async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          writeAll(fd, chunk);
          crc = zlib.crc32(chunk, crc);
        }
      });
    } catch (error) {
      // yauzl's own checks (more bytes than the header records, bad deflate data) do not name the entry.
      if (error instanceof ClawbackError || isSystemError(error)) throw error;
      throw corruptZip(file, `entry ${JSON.stringify(info.name)} (recorded as ${info.size} bytes) is damaged: ${error instanceof Error ? error.message : String(error)}`);
    }
    return crc;
  }
  const raw = await readAll(await openReadStream(zip, entry, RAW));
  let data: Buffer;
  if (info.compressionMethod === 0) {
    data = raw;
  } else {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(info.size, 1) });
    } catch (error) {
      throw corruptZip(file, `entry ${JSON.stringify(info.name)} does not inflate to its recorded size (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (data.length !== info.size) {
    throw corruptZip(file, `entry ${JSON.stringify(info.name)} holds ${data.length} bytes, not the ${info.size} its header records`);
  }
  writeAll(fd, data);
  return zlib.crc32(data);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
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

function openReadStream(zip: yauzl.ZipFile, entry: yauzl.Entry, options?: yauzl.ZipFileOptions): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const callback = (error: Error | null, stream: Readable): void => (error ? reject(error) : resolve(stream));
    if (options) zip.openReadStream(entry, options, callback);
    else zip.openReadStream(entry, callback);
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
  if (isSystemError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return corruptZip(file, message);
}

function corruptZip(file: string, why: string): IntegrityError {
  return new IntegrityError('corrupt-archive', `${file} is not a readable zip archive: ${why}`);
}
