import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SparseWriter } from '../../src/fs-safety/sparse-writer.js';
import { tempDir } from '../helpers/cli.js';

let dir: string;
let written = 0;
beforeEach(() => {
  dir = tempDir('clawback-sparse-');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes `bytes` through a SparseWriter in chunks of `chunk` bytes and returns what landed on disk. */
function writeSparse(bytes: Buffer, chunk: number): { data: Buffer; holes: boolean; allocated: number } {
  const file = path.join(dir, `out-${++written}`);
  const fd = fs.openSync(file, 'wx');
  const writer = new SparseWriter(fd);
  for (let at = 0; at < bytes.length; at += chunk) writer.write(bytes.subarray(at, at + chunk));
  const holes = writer.finish();
  fs.closeSync(fd);
  return { data: fs.readFileSync(file), holes, allocated: fs.statSync(file).blocks * 512 };
}

it('puts every byte back, whatever the mix of zero and non-zero blocks, trailing zeros and short tails', () => {
  const block = 4096;
  const layout = [1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const bytes = Buffer.alloc(layout.length * block + 100);
  layout.forEach((nonZero, i) => nonZero && bytes.fill(i + 1, i * block, (i + 1) * block));
  bytes[layout.length * block + 50] = 9;
  for (const chunk of [16 * block, 1024 * 1024]) {
    const out = writeSparse(bytes, chunk);
    expect(out.data.equals(bytes)).toBe(true);
    expect(out.holes).toBe(true);
  }
  const zeros = writeSparse(Buffer.alloc(64 * block), 16 * block);
  expect(zeros.data.equals(Buffer.alloc(64 * block))).toBe(true);
  expect(zeros.allocated).toBe(0);
  const dense = Buffer.alloc(8 * block, 7);
  expect(writeSparse(dense, 16 * block)).toMatchObject({ holes: false });
});
