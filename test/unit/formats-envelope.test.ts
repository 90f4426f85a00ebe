import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/errors.js';
import { createEncryptStream, decryptFile, ENVELOPE_MAGIC, isEncrypted, type EncryptOptions } from '../../src/formats/envelope.js';

// Cheap scrypt and small chunks keep the suite fast while still crossing many chunk boundaries.
const FAST: EncryptOptions = { scryptN: 2 ** 10, chunkSize: 1024 };
const SEALED = 1024 + 16;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-envelope-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function encrypt(plain: Buffer, passphrase: string, opts: EncryptOptions = FAST): Promise<string> {
  const file = path.join(dir, 'data.enc');
  await pipeline(Readable.from([plain]), await createEncryptStream(passphrase, opts), fs.createWriteStream(file));
  return file;
}

/** Byte offset where the chunks start. */
function chunkStart(file: string): number {
  const bytes = fs.readFileSync(file);
  return ENVELOPE_MAGIC.length + 4 + bytes.readUInt32BE(ENVELOPE_MAGIC.length);
}

async function expectRejected(file: string, passphrase: string, code: string): Promise<IntegrityError> {
  const dest = path.join(dir, 'out');
  const error: unknown = await decryptFile(file, dest, passphrase).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IntegrityError);
  const integrity = error as IntegrityError;
  expect(integrity.code).toBe(code);
  expect(integrity.exitCode).toBe(6);
  expect(fs.existsSync(dest)).toBe(false);
  return integrity;
}

describe('encryption envelope', () => {
  it('round-trips a multi-chunk file and marks it as encrypted', async () => {
    const plain = crypto.randomBytes(10 * 1024 + 123);
    const file = await encrypt(plain, 'correct horse');
    expect(isEncrypted(file)).toBe(true);
    expect(fs.readFileSync(file).includes(plain.subarray(0, 64))).toBe(false);

    const dest = path.join(dir, 'plain');
    await decryptFile(file, dest, 'correct horse');
    expect(fs.readFileSync(dest).equals(plain)).toBe(true);
    expect(fs.statSync(dest).mode & 0o777).toBe(0o600);
  });

  it('round-trips input that is an exact multiple of the chunk size, and empty input', async () => {
    for (const plain of [crypto.randomBytes(4 * 1024), Buffer.alloc(0)]) {
      const file = await encrypt(plain, 'pw');
      const dest = path.join(dir, `plain-${plain.length}`);
      await decryptFile(file, dest, 'pw');
      expect(fs.readFileSync(dest).equals(plain)).toBe(true);
      fs.rmSync(file);
    }
  });

  it('round-trips with the default scrypt cost and 1 MiB chunks', async () => {
    const plain = crypto.randomBytes(2 * 1024 * 1024 + 5);
    const file = await encrypt(plain, 'pässwörd', {});
    const dest = path.join(dir, 'plain');
    await decryptFile(file, dest, 'pa\u0308sswo\u0308rd'); // same passphrase typed decomposed
    expect(fs.readFileSync(dest).equals(plain)).toBe(true);
  });

  it('does not flag a plain file as encrypted', () => {
    const file = path.join(dir, 'plain.tar.gz');
    fs.writeFileSync(file, Buffer.from([0x1f, 0x8b, 8, 0]));
    expect(isEncrypted(file)).toBe(false);
  });

  it('reports a wrong passphrase in one line', async () => {
    const file = await encrypt(crypto.randomBytes(5000), 'right');
    const error = await expectRejected(file, 'wrong', 'bad-passphrase');
    expect(error.message).toBe('wrong passphrase or damaged file');
  });

  it('detects a truncated file, whether cut inside a chunk or at a chunk boundary', async () => {
    const plain = crypto.randomBytes(5 * 1024 + 100);
    const file = await encrypt(plain, 'pw');
    const whole = fs.readFileSync(file);
    const start = chunkStart(file);

    fs.writeFileSync(file, whole.subarray(0, whole.length - 10));
    await expectRejected(file, 'pw', 'corrupt-archive');

    // Drop the final chunk entirely: what remains ends on a non-final chunk.
    fs.writeFileSync(file, whole.subarray(0, start + 5 * SEALED));
    await expectRejected(file, 'pw', 'corrupt-archive');

    fs.writeFileSync(file, whole.subarray(0, start));
    await expectRejected(file, 'pw', 'corrupt-archive');
  });

  it('detects one flipped byte in the middle', async () => {
    const file = await encrypt(crypto.randomBytes(8 * 1024), 'pw');
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    fs.writeFileSync(file, bytes);
    await expectRejected(file, 'pw', 'corrupt-archive');
  });

  it('detects bytes appended after the final chunk', async () => {
    const file = await encrypt(crypto.randomBytes(3 * 1024 + 7), 'pw');
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, Buffer.concat([whole, Buffer.from([0])]));
    await expectRejected(file, 'pw', 'corrupt-archive');

    const start = chunkStart(file);
    fs.writeFileSync(file, Buffer.concat([whole, whole.subarray(start, start + SEALED)]));
    await expectRejected(file, 'pw', 'corrupt-archive');
  });

  it('detects swapped chunks', async () => {
    const file = await encrypt(crypto.randomBytes(4 * 1024 + 1), 'pw');
    const bytes = fs.readFileSync(file);
    const start = chunkStart(file);
    const first = Buffer.from(bytes.subarray(start, start + SEALED));
    const second = Buffer.from(bytes.subarray(start + SEALED, start + 2 * SEALED));
    second.copy(bytes, start);
    first.copy(bytes, start + SEALED);
    fs.writeFileSync(file, bytes);
    await expectRejected(file, 'pw', 'corrupt-archive');
  });

  it('detects an altered header, since every chunk authenticates it', async () => {
    const file = await encrypt(crypto.randomBytes(3000), 'pw', { ...FAST, chunkSize: 2048 });
    const text = fs.readFileSync(file).toString('latin1');
    expect(text).toContain('"chunkSize":2048');
    fs.writeFileSync(file, Buffer.from(text.replace('"chunkSize":2048', '"chunkSize":1024'), 'latin1'));
    await expectRejected(file, 'pw', 'corrupt-archive');
  });

  it('refuses a file that is not an envelope', async () => {
    const file = path.join(dir, 'not-encrypted');
    fs.writeFileSync(file, 'hello world, this is not encrypted');
    await expectRejected(file, 'pw', 'corrupt-archive');
  });

  it('never replaces an existing destination', async () => {
    const file = await encrypt(crypto.randomBytes(100), 'pw');
    const dest = path.join(dir, 'out');
    fs.writeFileSync(dest, 'keep me');
    await expect(decryptFile(file, dest, 'pw')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(dest, 'utf8')).toBe('keep me');
  });
});
