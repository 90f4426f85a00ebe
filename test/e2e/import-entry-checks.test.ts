import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipBytes, type RawZipEntry } from '../../fixtures/qwenpaw-zip.js';
import { freshQwenPaw, qwenPawSource, type QwenPawSource } from '../helpers/archives.js';
import { exportSnapshot } from '../../src/engine/archive/export.js';
import { completeManifest } from '../../src/engine/bundle/complete-manifest.js';
import { MANIFEST_FILE, serializeBundleManifest } from '../../src/manifest/bundle-manifest.js';
import { readBundleManifest } from '../../src/store/bundles.js';
import { bundleIds, sandboxDir } from '../helpers/bundles.js';
import { clawback } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';

let source: QwenPawSource;
let caseDir: string;

const META = Buffer.from(JSON.stringify({ id: 'qwenpaw-1.1.2-20260421T141125Z-0badf00d', name: 'liar', version: '1', scope: {} }));
const CONFIG = Buffer.from('{"agents":{"profiles":{}}}\n');

beforeAll(async () => {
  source = await qwenPawSource('clawback-entry-checks-');
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

/**
 * A bundle of the source whose manifest lists `link -> target` (its checksum recomputed, so the
 * manifest itself is sound), exported as clawback's own tar: what a hand-crafted archive would hold.
 */
async function exportWithLink(link: string, target: string): Promise<string> {
  const bundle = path.join(sandboxDir(source.home, 'qp'), source.timestamp);
  const manifestFile = path.join(bundle, MANIFEST_FILE);
  const original = fs.readFileSync(manifestFile, 'utf8');
  // Written with its entries inline (the form bundles had before the sidecar, still read); put back after.
  const manifest = readBundleManifest(bundle);
  const parent = manifest.entries.find((e) => e.path === path.posix.dirname(link));
  expect(parent?.type).toBe('dir');
  const entries = [...manifest.entries, { path: link, type: 'symlink' as const, target, module: parent!.module }].sort((a, b) => (a.path < b.path ? -1 : 1));
  const linkFile = path.join(bundle, 'payload', ...link.split('/'));
  fs.writeFileSync(manifestFile, serializeBundleManifest(completeManifest({ ...manifest, entries })));
  fs.symlinkSync(target, linkFile);
  const out = path.join(caseDir, `link-${target.replace(/[^a-z0-9]+/gi, '_')}.tar`);
  try {
    await exportSnapshot({ sandbox: 'qp', selector: 'latest', format: 'tar', output: out }, testDeps(source.home));
  } finally {
    fs.writeFileSync(manifestFile, original);
    fs.rmSync(linkFile);
  }
  return out;
}

describe('import checks link targets against the payload root', () => {
  it('refuses a manifest-listed link that climbs out of the payload (exit 5), naming the entry', async () => {
    // workspaces/default/x -> ../../.. stays inside the archive (payload/..) but leaves the payload root.
    const archive = await exportWithLink('workspaces/default/x', '../../..');
    const target = fresh('links');
    const result = await clawback(target.home, ['links', 'snapshot', 'import', archive]);
    expect(result.exitCode, String(result.stderr)).toBe(5);
    expect(String(result.stderr)).toContain('workspaces/default/x -> ../../..');
    expect(String(result.stderr)).not.toContain('internal error');
    expectNothingImported(target, 'links');
  });

  it('still imports a link that stays inside the payload', async () => {
    const archive = await exportWithLink('workspaces/default/y', '../../config.json');
    const target = fresh('inside');
    const result = await clawback(target.home, ['inside', 'snapshot', 'import', archive]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const [id] = bundleIds(target.home, 'inside');
    expect(fs.readlinkSync(path.join(sandboxDir(target.home, 'inside'), id!, 'payload', 'workspaces', 'default', 'y'))).toBe('../../config.json');
  });
});
