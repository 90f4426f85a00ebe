import type { Readable } from 'node:stream';

/**
 * A streaming reader of the tar a remote `tar -cf -` writes (GNU or busybox: ustar headers, GNU
 * long names `L`/`K`, pax `x` records), keeping names as raw bytes. Concatenated archives (one per
 * `xargs` batch) are read as one: end-of-archive blocks are skipped. Nothing is judged here; the
 * caller decides what each entry may be.
 */

export interface TarStreamHeader {
  /** The member name's bytes, as archived. */
  name: Buffer;
  /** The typeflag: '0' file, '1' hard link, '2' symlink, '5' directory, … */
  type: string;
  size: number;
  mode: number;
  linkName: Buffer;
}

export interface TarStreamHandler {
  /** An entry starts; its data follows in `data` calls (exactly `size` bytes), then `end`. */
  entry(header: TarStreamHeader): void;
  data(chunk: Buffer): void;
  end(): void;
}

const BLOCK = 512;

export class TarStreamError extends Error {}

function field(block: Buffer, start: number, length: number): Buffer {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return nul < 0 ? raw : raw.subarray(0, nul);
}

function numeric(block: Buffer, start: number, length: number): number {
  if ((block[start]! & 0x80) !== 0) {
    let value = 0;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!;
    return value;
  }
  const text = field(block, start, length).toString('latin1').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === numeric(block, 148, 8);
}

function paxRecords(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(length) || length <= 0) throw new TarStreamError('a malformed pax header');
    const record = data.subarray(space + 1, at + length - 1);
    const eq = record.indexOf(0x3d);
    records.set(record.subarray(0, eq).toString('latin1'), Buffer.from(record.subarray(eq + 1)));
    at += length;
  }
  return records;
}

/** Reads a tar stream to its end, calling `handler` per entry. Throws TarStreamError on damage or truncation. */
export async function readTarStream(stream: AsyncIterable<Buffer> | Readable, handler: TarStreamHandler): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let padding = 0;
  let meta: { kind: string; size: number; chunks: Buffer[] } | undefined;
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let pax: Map<string, Buffer> | undefined;
  const header = (block: Buffer): void => {
    if (block.every((b) => b === 0)) return;
    if (!checksumOk(block)) throw new TarStreamError('a header checksum does not match');
    const type = String.fromCharCode(block[156] || 0x30);
    const size = numeric(block, 124, 12);
    if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
      meta = { kind: type, size, chunks: [] };
      remaining = size;
      padding = (BLOCK - (size % BLOCK)) % BLOCK;
      return;
    }
    const ustar = block.subarray(257, 262).toString('latin1') === 'ustar';
    const prefix = ustar ? field(block, 345, 155) : Buffer.alloc(0);
    const base = field(block, 0, 100);
    const name = longName ?? pax?.get('path') ?? (prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), base]) : Buffer.from(base));
    const linkName = longLink ?? pax?.get('linkpath') ?? Buffer.from(field(block, 157, 100));
    const paxSize = pax?.get('size');
    const entrySize = paxSize !== undefined ? Number(paxSize.toString('latin1')) : size;
    longName = longLink = pax = undefined;
    handler.entry({ name, type, size: entrySize, mode: numeric(block, 100, 8), linkName });
    remaining = type === '0' || type === '7' ? entrySize : type === '1' || type === '2' || type === '5' ? 0 : entrySize;
    padding = (BLOCK - (remaining % BLOCK)) % BLOCK;
    if (remaining === 0) handler.end();
  };
  const finishMeta = (): void => {
    const data = Buffer.concat(meta!.chunks);
    if (meta!.kind === 'L') longName = field(data, 0, data.length);
    else if (meta!.kind === 'K') longLink = field(data, 0, data.length);
    else if (meta!.kind === 'x') pax = paxRecords(data);
    meta = undefined;
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    for (;;) {
      if (remaining > 0) {
        const take = Math.min(remaining, pending.length - at);
        if (take === 0) break;
        const part = pending.subarray(at, at + take);
        if (meta) meta.chunks.push(Buffer.from(part));
        else handler.data(part);
        at += take;
        remaining -= take;
        if (remaining > 0) break;
        if (meta) finishMeta();
        else handler.end();
      }
      if (padding > 0) {
        const skip = Math.min(padding, pending.length - at);
        at += skip;
        padding -= skip;
        if (padding > 0) break;
      }
      if (meta && remaining === 0) finishMeta();
      if (pending.length - at < BLOCK) break;
      header(pending.subarray(at, at + BLOCK));
      at += BLOCK;
    }
    pending = pending.subarray(at);
  }
  if (remaining > 0 || padding > 0 || meta !== undefined || pending.some((b) => b !== 0)) throw new TarStreamError('the stream ended inside an entry');
}
