import crypto from 'node:crypto';
import fs from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClawbackError, IntegrityError, UsageError } from '../errors.js';
import { isRecord } from '../records.js';

/*
 * Layout of an encrypted file:
 *
 *   MAGIC (13 bytes) | header length (uint32 BE) | header (UTF-8 JSON) | chunk 0 | chunk 1 | ... | final chunk
 *
 * Every chunk is AES-256-GCM ciphertext of `chunkSize` plaintext bytes followed by its 16-byte tag;
 * the final chunk holds 0..chunkSize bytes and is the only one sealed with the final flag. Each
 * chunk's nonce is noncePrefix || uint32 index, and its AAD is the whole header prefix || uint64
 * index || final flag, so a changed header, reordered, dropped or appended chunk fails to open.
 */

export const ENVELOPE_MAGIC = Buffer.from('CLAWBACK-ENC\x01', 'latin1');

const FORMAT = 'clawback-enc';
const VERSION = 1;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
const NONCE_PREFIX_BYTES = 8;
const KEY_CHECK_BYTES = 16;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_CHUNKS = 2 ** 32;
/** Upper bound on the scrypt work a file may ask of us (128·N·r bytes of memory). */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
const MIN_CHUNK_SIZE = 1024;
const MAX_CHUNK_SIZE = 64 * 1024 * 1024;

export interface EncryptOptions {
  /** scrypt cost; a power of two. Default 2^15. */
  scryptN?: number;
  scryptR?: number;
  scryptP?: number;
  /** Plaintext bytes per sealed chunk. Default 1 MiB. */
  chunkSize?: number;
}

interface EnvelopeHeader {
  format: typeof FORMAT;
  version: typeof VERSION;
  cipher: 'aes-256-gcm';
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  chunkSize: number;
  noncePrefix: string;
  keyCheck: string;
}

interface Keys {
  key: Buffer;
  check: Buffer;
}

/**
 * A Transform that encrypts whatever is written to it. Key derivation
 * happens before the promise resolves, so the stream itself never stalls.
 */
export async function createEncryptStream(passphrase: string, opts: EncryptOptions = {}): Promise<Transform> {
  if (passphrase.length === 0) throw new UsageError('the passphrase is empty');
  const N = opts.scryptN ?? 2 ** 15;
  const r = opts.scryptR ?? 8;
  const p = opts.scryptP ?? 1;
  const chunkSize = opts.chunkSize ?? 1024 * 1024;
  const paramProblem = scryptParamProblem(N, r, p) ?? chunkSizeProblem(chunkSize);
  if (paramProblem) throw new UsageError(`invalid encryption parameters: ${paramProblem}`);

  const salt = crypto.randomBytes(SALT_BYTES);
  const noncePrefix = crypto.randomBytes(NONCE_PREFIX_BYTES);
  const keys = await deriveKeys(passphrase, salt, N, r, p);
  const header: EnvelopeHeader = {
    format: FORMAT,
    version: VERSION,
    cipher: 'aes-256-gcm',
    kdf: { name: 'scrypt', N, r, p, salt: salt.toString('base64') },
    chunkSize,
    noncePrefix: noncePrefix.toString('base64'),
    keyCheck: keys.check.toString('base64'),
  };
  return new EncryptTransform(keys.key, noncePrefix, encodeHeaderPrefix(header), chunkSize);
}

/**
 * Decrypts `src` into a new file `dest` (mode 0600), authenticating every
 * chunk. On any failure `dest` is removed, so a caller only ever sees a
 * fully authenticated file.
 */
export async function decryptFile(src: string, dest: string, passphrase: string): Promise<void> {
  const { header, prefix } = await readHeader(src);
  const salt = Buffer.from(header.kdf.salt, 'base64');
  const keys = await deriveKeys(passphrase, salt, header.kdf.N, header.kdf.r, header.kdf.p);
  const expected = Buffer.from(header.keyCheck, 'base64');
  if (expected.length !== keys.check.length || !crypto.timingSafeEqual(expected, keys.check)) {
    throw new IntegrityError('bad-passphrase', 'wrong passphrase or damaged file', {
      hint: `${src} could not be unlocked with this passphrase`,
    });
  }

  const sealedSize = header.chunkSize + TAG_BYTES;
  const decrypt = new DecryptTransform(keys.key, Buffer.from(header.noncePrefix, 'base64'), prefix, header.chunkSize, src);
  // Created here, not by the stream, so a failure never removes a file that was already there.
  const fd = fs.openSync(dest, 'wx', 0o600);
  try {
    const out = fs.createWriteStream(dest, { fd });
    await pipeline(fs.createReadStream(src, { start: prefix.length, highWaterMark: sealedSize }), decrypt, out);
  } catch (error) {
    fs.rmSync(dest, { force: true });
    throw error;
  }
}

/** True when the file starts with the envelope magic. */
export function isEncrypted(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(ENVELOPE_MAGIC.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.equals(ENVELOPE_MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

function scryptParamProblem(N: number, r: number, p: number): string | undefined {
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) return `scrypt N ${N} is not a power of two`;
  if (!Number.isSafeInteger(r) || r < 1 || r > 32) return `scrypt r ${r} is out of range`;
  if (!Number.isSafeInteger(p) || p < 1 || p > 16) return `scrypt p ${p} is out of range`;
  if (128 * N * r > MAX_SCRYPT_MEMORY) return `scrypt N·r needs more than ${MAX_SCRYPT_MEMORY} bytes`;
  return undefined;
}

function chunkSizeProblem(chunkSize: number): string | undefined {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    return `chunk size ${chunkSize} is outside ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`;
  }
  return undefined;
}

async function deriveKeys(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Keys> {
  // NFC so the same passphrase typed on different systems derives the same key.
  const secret = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  const maxmem = 128 * r * (N + p + 2) + 1024 * 1024;
  const master = await new Promise<Buffer>((resolve, reject) => {
    crypto.scrypt(secret, salt, 32, { N, r, p, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
  // Separate subkeys so the stored check value reveals nothing about the encryption key.
  const key = Buffer.from(crypto.hkdfSync('sha256', master, Buffer.alloc(0), 'clawback-enc/1 key', 32));
  const check = Buffer.from(crypto.hkdfSync('sha256', master, Buffer.alloc(0), 'clawback-enc/1 key-check', KEY_CHECK_BYTES));
  return { key, check };
}

function encodeHeaderPrefix(header: EnvelopeHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([ENVELOPE_MAGIC, length, json]);
}

async function readHeader(src: string): Promise<{ header: EnvelopeHeader; prefix: Buffer }> {
  const handle = await fs.promises.open(src, 'r');
  try {
    const fixed = Buffer.alloc(ENVELOPE_MAGIC.length + 4);
    const { bytesRead } = await handle.read(fixed, 0, fixed.length, 0);
    if (bytesRead < fixed.length || !fixed.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC)) {
      throw corrupt(src, 'it is not a clawback encrypted file');
    }
    const length = fixed.readUInt32BE(ENVELOPE_MAGIC.length);
    if (length === 0 || length > MAX_HEADER_BYTES) throw corrupt(src, 'its header length is invalid');
    const json = Buffer.alloc(length);
    const read = await handle.read(json, 0, length, fixed.length);
    if (read.bytesRead < length) throw corrupt(src, 'its header is truncated');
    return { header: parseHeader(json, src), prefix: Buffer.concat([fixed, json]) };
  } finally {
    await handle.close();
  }
}

function parseHeader(json: Buffer, src: string): EnvelopeHeader {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    throw corrupt(src, 'its header is not valid JSON');
  }
  if (!isRecord(value) || value.format !== FORMAT) throw corrupt(src, 'its header is not a clawback-enc header');
  if (value.version !== VERSION) {
    throw corrupt(src, `its header version ${JSON.stringify(value.version)} is not supported (this build reads ${VERSION})`);
  }
  const kdf = value.kdf;
  if (value.cipher !== 'aes-256-gcm' || !isRecord(kdf) || kdf.name !== 'scrypt') {
    throw corrupt(src, 'its header names an unsupported cipher or key derivation');
  }
  const { N, r, p, salt } = kdf;
  const { chunkSize, noncePrefix, keyCheck } = value;
  if (typeof N !== 'number' || typeof r !== 'number' || typeof p !== 'number') throw corrupt(src, 'its scrypt parameters are missing');
  const problem = scryptParamProblem(N, r, p) ?? (typeof chunkSize === 'number' ? chunkSizeProblem(chunkSize) : 'chunk size missing');
  if (problem) throw corrupt(src, `its header is invalid: ${problem}`);
  if (
    !isBase64Of(salt, SALT_BYTES) ||
    !isBase64Of(noncePrefix, NONCE_PREFIX_BYTES) ||
    !isBase64Of(keyCheck, KEY_CHECK_BYTES)
  ) {
    throw corrupt(src, 'its header has a malformed salt, nonce or key check');
  }
  return {
    format: FORMAT,
    version: VERSION,
    cipher: 'aes-256-gcm',
    kdf: { name: 'scrypt', N, r, p, salt },
    chunkSize: chunkSize as number,
    noncePrefix,
    keyCheck,
  };
}


function isBase64Of(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && Buffer.from(value, 'base64').length === bytes;
}

function corrupt(src: string, why: string): IntegrityError {
  return new IntegrityError('corrupt-archive', `encrypted file ${src} is damaged: ${why}`, {
    hint: 'the file was truncated, altered or is not a clawback export; nothing was extracted',
  });
}

function nonceFor(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  return nonce;
}

function aadFor(headerPrefix: Buffer, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(headerPrefix.length + 9);
  headerPrefix.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(index), headerPrefix.length);
  aad[headerPrefix.length + 8] = final ? 1 : 0;
  return aad;
}

/** A FIFO of buffers from which exact byte counts can be taken without copying. */
class ByteQueue {
  private readonly parts: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.parts.push(chunk);
    this.length += chunk.length;
  }

  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.parts[0]!;
      if (head.length <= need) {
        out.push(head);
        this.parts.shift();
        need -= head.length;
      } else {
        out.push(head.subarray(0, need));
        this.parts[0] = head.subarray(need);
        need = 0;
      }
    }
    this.length -= n;
    return out;
  }
}

class EncryptTransform extends Transform {
  private readonly queue = new ByteQueue();
  private index = 0;
  private headerSent = false;

  constructor(
    private readonly key: Buffer,
    private readonly noncePrefix: Buffer,
    private readonly headerPrefix: Buffer,
    private readonly chunkSize: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.queue.push(chunk);
      // Hold back the last chunk's worth: only at the end do we know which chunk is final.
      while (this.queue.length > this.chunkSize) this.seal(this.queue.take(this.chunkSize), false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.seal(this.queue.take(this.queue.length), true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.headerPrefix);
  }

  private seal(parts: Buffer[], final: boolean): void {
    if (this.index >= MAX_CHUNKS) throw new UsageError('input too large for one encrypted file');
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, nonceFor(this.noncePrefix, this.index));
    cipher.setAAD(aadFor(this.headerPrefix, this.index, final));
    for (const part of parts) this.push(cipher.update(part));
    this.push(cipher.final());
    this.push(cipher.getAuthTag());
    this.index += 1;
  }
}

class DecryptTransform extends Transform {
  private readonly queue = new ByteQueue();
  private readonly sealedSize: number;
  private index = 0;

  constructor(
    private readonly key: Buffer,
    private readonly noncePrefix: Buffer,
    private readonly headerPrefix: Buffer,
    chunkSize: number,
    private readonly src: string,
  ) {
    super();
    this.sealedSize = chunkSize + TAG_BYTES;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.queue.push(chunk);
      // A full sealed chunk with more bytes after it cannot be the final one.
      while (this.queue.length > this.sealedSize) this.open(this.queue.take(this.sealedSize), false);
      callback();
    } catch (error) {
      callback(this.asIntegrityError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.queue.length < TAG_BYTES) throw corrupt(this.src, 'it ends before its final chunk');
      this.open(this.queue.take(this.queue.length), true);
      callback();
    } catch (error) {
      callback(this.asIntegrityError(error));
    }
  }

  private open(parts: Buffer[], final: boolean): void {
    if (this.index >= MAX_CHUNKS) throw corrupt(this.src, 'it has too many chunks');
    const sealed = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const body = sealed.subarray(0, sealed.length - TAG_BYTES);
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, nonceFor(this.noncePrefix, this.index));
    decipher.setAAD(aadFor(this.headerPrefix, this.index, final));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = decipher.update(body);
    try {
      decipher.final();
    } catch {
      const where = final ? `its final chunk (${this.index})` : `chunk ${this.index}`;
      throw corrupt(this.src, `${where} fails authentication (altered, reordered, truncated or extended)`);
    }
    // Only authenticated bytes ever reach the destination.
    this.push(plain);
    this.index += 1;
  }

  private asIntegrityError(error: unknown): Error {
    if (error instanceof ClawbackError) return error;
    return new IntegrityError('corrupt-archive', `encrypted file ${this.src} could not be decrypted`, { cause: error });
  }
}
