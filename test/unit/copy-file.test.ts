import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileHashed } from '../../src/engine/capture/copy.js';
import { READ_CHUNK } from '../../src/fs-safety/file-reader.js';
import { tempDir } from '../helpers/cli.js';

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A file of `size` bytes: `head` first, then seeded noise. */
function fileOf(head: Buffer, size: number): { source: string; dest: string; bytes: Buffer } {
  const dir = tempDir('clawback-copy-file-');
  dirs.push(dir);
  const bytes = Buffer.concat([head, crypto.createHash('sha512').update(String(size)).digest()]);
  const whole = Buffer.alloc(size);
  for (let at = 0; at < size; at += bytes.length) bytes.copy(whole, at);
  head.copy(whole, 0);
  const source = path.join(dir, 'source');
  fs.writeFileSync(source, whole);
  return { source, dest: path.join(dir, 'dest'), bytes: whole };
}

describe('copyFileHashed and the SQLite header', () => {
  for (const size of [64 * 1024, READ_CHUNK, 3 * READ_CHUNK + 5]) {
    it(`a ${size}-byte file that starts with the header is left to SQLite: nothing is written`, () => {
      const { source, dest } = fileOf(HEADER, size);
      expect(copyFileHashed(source, dest, 0o600, { size })).toEqual({ kind: 'sqlite' });
      expect(fs.existsSync(dest)).toBe(false);
    });

    it(`a ${size}-byte file that starts with the header is copied byte for byte when raw`, () => {
      const { source, dest, bytes } = fileOf(HEADER, size);
      const outcome = copyFileHashed(source, dest, 0o600, { size, raw: true });
      expect(outcome).toEqual({ kind: 'copied', size, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
      expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
    });

    it(`a ${size}-byte file whose first 16 bytes differ from the header in the last is copied`, () => {
      const { source, dest, bytes } = fileOf(Buffer.from('SQLite format 3!', 'latin1'), size);
      const outcome = copyFileHashed(source, dest, 0o600, { size });
      expect(outcome).toEqual({ kind: 'copied', size, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
      expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
    });
  }

  it('a file the scan saw large but that is now shorter than the header is copied as it is', () => {
    const { source, dest } = fileOf(HEADER.subarray(0, 6), 6);
    const outcome = copyFileHashed(source, dest, 0o600, { size: 2 * READ_CHUNK });
    expect(outcome).toMatchObject({ kind: 'copied', size: 6 });
    expect(fs.readFileSync(dest).equals(HEADER.subarray(0, 6))).toBe(true);
  });
});
