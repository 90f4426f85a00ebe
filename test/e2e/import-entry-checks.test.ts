import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipBytes, type RawZipEntry } from '../../fixtures/qwenpaw-zip.js';
import { freshQwenPaw, qwenPawSource, tarWithExtra, type QwenPawSource } from '../helpers/archives.js';
import { exportSnapshot } from '../../src/engine/archive/export.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';

let source: QwenPawSource;
let exportedTar: Buffer;
let caseDir: string;

const META = Buffer.from(JSON.stringify({ id: 'qwenpaw-1.1.2-20260421T141125Z-0badf00d', name: 'liar', version: '1', scope: {} }));
const CONFIG = Buffer.from('{"agents":{"profiles":{}}}\n');

beforeAll(async () => {
  source = await qwenPawSource('clawback-entry-checks-');
  const tar = path.join(source.base, 'export.tar');
  await exportSnapshot({ sandbox: 'qp', selector: 'latest', format: 'tar', output: tar }, testDeps(source.home));
  exportedTar = fs.readFileSync(tar);
  caseDir = path.join(source.base, 'cases');
  fs.mkdirSync(caseDir);
});

afterAll(() => source?.cleanup());

/** A zip whose entry `liar` declares `declared` uncompressed bytes (local header and central directory) but inflates to all of `data`. */
function zipWithLiar(liar: string, data: Buffer, declared: number): Buffer {
  const entries: RawZipEntry[] = [{ name: 'meta.json', data: META }, { name: 'data/config.json', data: CONFIG }, { name: liar, data }];
  const zip = zipBytes(entries);
  const name = Buffer.from(liar);
  let patched = 0;
  for (const [signature, sizeAt, nameLengthAt, nameAt] of [
    [0x04034b50, 22, 26, 30],
    [0x02014b50, 24, 28, 46],
  ] as const) {
    for (let at = zip.indexOf(Buffer.from(new Uint32Array([signature]).buffer)); at >= 0; at = zip.indexOf(Buffer.from(new Uint32Array([signature]).buffer), at + 4)) {
      if (zip.readUInt16LE(at + nameLengthAt) === name.length && zip.subarray(at + nameAt, at + nameAt + name.length).equals(name)) {
        zip.writeUInt32LE(declared, at + sizeAt);
        patched++;
      }
    }
  }
  if (patched !== 2) throw new Error(`patched ${patched} headers, not 2`);
  return zip;
}

function fresh(name: string): { home: string; root: string } {
  return freshQwenPaw(source.base, name);
}

function expectNothingImported(target: { home: string; root: string }, sandbox: string): void {
  expect(bundleIds(target.home, sandbox, { scratch: true })).toEqual([]);
  expect(fs.readdirSync(target.root)).toEqual([]);
}

describe('a zip entry that inflates past its declared size', () => {
  it.each([
    { size: 'large (streamed)', entry: 'data/skill_pool/big-liar.bin', data: () => crypto.randomBytes(5 * 1024 * 1024), declared: 4096 },
    { size: 'small (inflated at once)', entry: 'data/skill_pool/small-liar.md', data: () => Buffer.from('z'.repeat(3000)), declared: 100 },
  ])('is refused naming the entry: $size', async ({ entry, data, declared }) => {
    const file = path.join(caseDir, `${path.basename(entry)}.zip`);
    fs.writeFileSync(file, zipWithLiar(entry, data(), declared));
    const sandbox = `z${declared}`;
    const target = fresh(sandbox);
    const result = await clawback(target.home, [sandbox, 'snapshot', 'import', file]);
    expect(result.exitCode, String(result.stderr)).toBe(6);
    expect(String(result.stderr)).toContain(JSON.stringify(entry));
    expect(String(result.stderr)).not.toContain('internal error');
    expectNothingImported(target, sandbox);
  });
});
