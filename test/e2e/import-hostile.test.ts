import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipBytes, type RawZipEntry } from '../../fixtures/qwenpaw-zip.js';
import { Header } from 'tar';
import { expectOk, freshQwenPaw, qwenPawSource, tarBytes, tarWithExtra, type QwenPawSource, type RawTarEntry } from '../helpers/archives.js';
import { exportSnapshot } from '../../src/engine/archive/export.js';
import { importArchive } from '../../src/engine/archive/import.js';
import { ClawbackError, exitCodeFor } from '../../src/errors.js';
import type { ArchiveLimits } from '../../src/formats/archive-guard.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';

let source: QwenPawSource;
let target: { home: string; root: string };
let exportedTar: Buffer;
let caseDir: string;

const META = Buffer.from(JSON.stringify({ id: 'qwenpaw-1.1.2-20260421T141125Z-0badf00d', name: 'hostile', version: '1', scope: {} }));
const CONFIG = Buffer.from('{"agents":{"profiles":{}}}\n');

/** A zip with a valid meta.json and config, plus the hostile entries. */
function zipWith(...entries: RawZipEntry[]): Buffer {
  return zipBytes([{ name: 'meta.json', data: META }, { name: 'data/config.json', data: CONFIG }, ...entries]);
}

function file(name: string, data: Buffer | string = 'x\n', mode?: number): RawZipEntry {
  return { name, data: Buffer.from(data), ...(mode !== undefined ? { mode } : {}) };
}

interface HostileCase {
  name: string;
  archive: () => Buffer;
  ext: string;
  exitCode: 5 | 6;
  message: RegExp;
  env?: Record<string, string>;
}

/** The archive's entries as raw bytes (a pax or long-name header kept with the entry it describes), and the tar they make again. */
function tarPieces(tar: Buffer): { name: string; bytes: Buffer }[] {
  const pieces: { name: string; bytes: Buffer }[] = [];
  let start = 0;
  let at = 0;
  while (at + 512 <= tar.length && !tar.subarray(at, at + 512).every((b) => b === 0)) {
    const header = new Header(tar, at);
    at += 512 + Math.ceil((header.size ?? 0) / 512) * 512;
    if (header.type === 'ExtendedHeader' || header.type === 'NextFileHasLongPath') continue;
    pieces.push({ name: header.path ?? '', bytes: tar.subarray(start, at) });
    start = at;
  }
  return pieces;
}

function tarOf(pieces: { bytes: Buffer }[]): Buffer {
  return Buffer.concat([...pieces.map((p) => p.bytes), Buffer.alloc(1024)]);
}

/** Two payload files swapped: each is listed, but not where the inventory lists it. */
function payloadSwapped(): Buffer {
  const pieces = tarPieces(exportedTar);
  const files = pieces.flatMap((p, i) => (p.name.startsWith('payload/') && p.bytes.length > 512 ? [i] : []));
  const [a, b] = [files[0]!, files[1]!];
  [pieces[a], pieces[b]] = [pieces[b]!, pieces[a]!];
  return tarOf(pieces);
}

/** The inventory that follows the manifest, cut to half its bytes. */
function inventoryTruncated(): Buffer {
  const pieces = tarPieces(exportedTar);
  const at = pieces.findIndex((p) => p.name === 'rebuild-inventory.jsonl.gz');
  const data = pieces[at]!.bytes.subarray(512, 512 + new Header(pieces[at]!.bytes, 0).size!);
  const cut = tarBytes([{ path: 'rebuild-inventory.jsonl.gz', type: 'File', data: data.subarray(0, data.length >> 1) }]);
  pieces[at] = { name: 'rebuild-inventory.jsonl.gz', bytes: cut.subarray(0, cut.length - 1024) };
  return tarOf(pieces);
}

const CASES: HostileCase[] = [
  { name: "zip: '..' in a path", ext: 'zip', exitCode: 5, message: /contains '\.\.'/, archive: () => zipWith(file('data/workspaces/default/../../../../evil.txt')) },
  { name: 'zip: absolute path', ext: 'zip', exitCode: 5, message: /is absolute/, archive: () => zipWith(file('/tmp/evil.txt')) },
  { name: 'zip: drive letter', ext: 'zip', exitCode: 5, message: /drive letter/, archive: () => zipWith(file('C:/evil.txt')) },
  { name: 'zip: backslash', ext: 'zip', exitCode: 5, message: /backslash/, archive: () => zipWith(file('data\\workspaces\\default\\evil.md')) },
  { name: 'zip: symlink entry', ext: 'zip', exitCode: 5, message: /symbolic link/, archive: () => zipWith(file('data/workspaces/default/link', '/etc/passwd', 0o120777)) },
  { name: 'zip: device entry', ext: 'zip', exitCode: 5, message: /device/, archive: () => zipWith(file('data/workspaces/default/dev', '', 0o020644)) },
  { name: 'zip: duplicate entry', ext: 'zip', exitCode: 5, message: /duplicate/, archive: () => zipWith(file('data/config.json', '{"agents":{}}')) },
  { name: 'zip: bad agent id', ext: 'zip', exitCode: 5, message: /invalid agent id/, archive: () => zipWith(file('data/workspaces/bad id!/SOUL.md')) },
  { name: 'zip: agent id starting with a dash', ext: 'zip', exitCode: 5, message: /invalid agent id/, archive: () => zipWith(file('data/workspaces/-rf/SOUL.md')) },
  {
    name: 'zip: too many entries',
    ext: 'zip',
    exitCode: 5,
    message: /exceed 4 entries/,
    env: { CLAWBACK_TEST_ARCHIVE_LIMITS: '{"maxEntries":4}' },
    archive: () => zipWith(...['a', 'b', 'c'].map((n) => file(`data/skill_pool/${n}.md`))),
  },
  {
    name: 'zip: too many bytes',
    ext: 'zip',
    exitCode: 5,
    message: /exceed 4096 bytes/,
    env: { CLAWBACK_TEST_ARCHIVE_LIMITS: '{"maxTotalBytes":4096}' },
    archive: () => zipWith(file('data/skill_pool/big.md', 'y'.repeat(5000))),
  },
  { name: 'zip: compression ratio (a 4 MiB run of zeros)', ext: 'zip', exitCode: 5, message: /compression ratio/, archive: () => zipWith(file('data/skill_pool/bomb.bin', Buffer.alloc(4 * 1024 * 1024))) },
  {
    name: 'zip: meta.json with an unsafe id',
    ext: 'zip',
    exitCode: 6,
    message: /unsafe or missing id/,
    archive: () => zipBytes([{ name: 'meta.json', data: Buffer.from(JSON.stringify({ id: '../../escape', name: 'x' })) }, { name: 'data/config.json', data: CONFIG }]),
  },
  { name: 'zip: no meta.json', ext: 'zip', exitCode: 6, message: /no meta\.json/, archive: () => zipBytes([{ name: 'data/config.json', data: CONFIG }]) },
  { name: 'tar: hard-link entry', ext: 'tar', exitCode: 5, message: /hard link/, archive: () => tarWithExtra(exportedTar, [{ path: 'payload/hl', type: 'Link', linkpath: 'payload/config.json' }]) },
  { name: 'tar: symlink entry the manifest does not list', ext: 'tar', exitCode: 5, message: /symbolic link/, archive: () => tarWithExtra(exportedTar, [{ path: 'payload/evil', type: 'SymbolicLink', linkpath: '/etc/passwd' }]) },
  { name: 'tar: device entry', ext: 'tar', exitCode: 5, message: /device/, archive: () => tarWithExtra(exportedTar, [{ path: 'payload/tty', type: 'CharacterDevice' }]) },
  { name: "tar: '..' in a path", ext: 'tar', exitCode: 5, message: /contains '\.\.'/, archive: () => tarWithExtra(exportedTar, [{ path: 'payload/../../evil.txt', type: 'File', data: Buffer.from('x') }]) },
  { name: 'tar: duplicate entry', ext: 'tar', exitCode: 5, message: /duplicate/, archive: () => tarWithExtra(exportedTar, [{ path: 'payload/config.json', type: 'File', data: Buffer.from('{}') }]) },
  { name: 'tar: bad agent id', ext: 'tar', exitCode: 5, message: /invalid agent id/, archive: () => tarWithExtra(exportedTar, [{ path: 'payload/workspaces/a b/x', type: 'File', data: Buffer.from('x') }]) },
  { name: 'tar: a file the manifest does not list', ext: 'tar', exitCode: 6, message: /not listed in the manifest/, archive: () => tarWithExtra(exportedTar, [{ path: 'payload/extra.txt', type: 'File', data: Buffer.from('x') }]) },
  { name: 'tar: the last payload entry left out', ext: 'tar', exitCode: 6, message: /1 entry is missing/, archive: () => tarOf(tarPieces(exportedTar).slice(0, -1)) },
  { name: 'tar: its inventory truncated', ext: 'tar', exitCode: 6, message: /rebuild-inventory\.jsonl\.gz: is truncated/, archive: inventoryTruncated },
  {
    name: 'tar: a payload file altered',
    ext: 'tar',
    exitCode: 6,
    message: /does not match its sha256/,
    archive: () => {
      const altered = Buffer.from(exportedTar);
      const at = altered.indexOf('"active_agent"');
      altered[at + 1] = 'A'.charCodeAt(0);
      return altered;
    },
  },
];

beforeAll(async () => {
  source = await qwenPawSource('clawback-hostile-');
  const tar = path.join(source.base, 'export.tar');
  await exportSnapshot({ sandbox: 'qp', selector: 'latest', format: 'tar', output: tar }, testDeps(source.home));
  exportedTar = fs.readFileSync(tar);
  target = freshQwenPaw(source.base, 'victim');
  caseDir = path.join(source.base, 'cases');
  fs.mkdirSync(caseDir);
});

afterAll(() => source?.cleanup());

function writeCase(hostile: HostileCase): string {
  const file = path.join(caseDir, `${hostile.name.replace(/[^a-z0-9]+/gi, '-')}.${hostile.ext}`);
  fs.writeFileSync(file, hostile.archive());
  return file;
}

function expectNothingWritten(): void {
  // no bundle, no .partial, no scratch dir; the working dir untouched; nothing escaped
  expect(bundleIds(target.home, 'victim', { scratch: true })).toEqual([]);
  expect(fs.readdirSync(target.root)).toEqual([]);
  expect(fs.existsSync(path.join(source.base, 'evil.txt'))).toBe(false);
  expect(fs.existsSync('/tmp/evil.txt')).toBe(false);
}

describe('hostile archives are refused before anything is written', () => {
  // The import engine in this process, for every case (starting the CLI 22 times would cost ~15 s)...
  it.each(CASES)('$name', async (hostile) => {
    const file = writeCase(hostile);
    const limits = hostile.env ? (JSON.parse(hostile.env.CLAWBACK_TEST_ARCHIVE_LIMITS!) as Partial<ArchiveLimits>) : undefined;
    const error = await importArchive({ sandbox: 'victim', file, ...(limits ? { limits } : {}) }, testDeps(target.home)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClawbackError);
    expect(exitCodeFor(error), (error as Error).message).toBe(hostile.exitCode);
    expect((error as Error).message).toMatch(hostile.message);
    expectNothingWritten();
  });

  // ...and the CLI for a few, end to end: exit code, message, the test-only limits variable.
  it.each(CASES.filter((c) => ['zip: backslash', 'zip: too many entries', 'tar: hard-link entry', 'tar: a payload file altered'].includes(c.name)))('CLI: $name', async (hostile) => {
    const file = writeCase(hostile);
    const result = await clawback(target.home, ['victim', 'snapshot', 'import', file], hostile.env ? { env: hostile.env } : {});
    expect(result.exitCode, String(result.stderr)).toBe(hostile.exitCode);
    expect(String(result.stderr)).toMatch(hostile.message);
    expectNothingWritten();
  });

  it('the untouched export still imports (the cases above fail for their entry alone)', async () => {
    const file = path.join(caseDir, 'clean.tar');
    fs.writeFileSync(file, exportedTar);
    await expectOk(clawback(target.home, ['victim', 'snapshot', 'import', file]));
    expect(bundleIds(target.home, 'victim', { scratch: true })).toEqual([source.timestamp]);
  });

  it('an export whose payload entries are in another order still imports, every file checked by its name', async () => {
    const file = path.join(caseDir, 'swapped.tar');
    fs.writeFileSync(file, payloadSwapped());
    const swapped = freshQwenPaw(source.base, 'swapped');
    const summary = await importArchive({ sandbox: 'swapped', file }, testDeps(swapped.home));
    expect(bundleIds(swapped.home, 'swapped', { scratch: true })).toEqual([source.timestamp]);
    const verified = await clawback(swapped.home, ['swapped', 'snapshot', 'verify', 'latest']);
    expect(verified.exitCode, String(verified.stderr)).toBe(0);
    // the same archive with one of the swapped files altered is still refused by its hash
    const altered = payloadSwapped();
    altered[altered.indexOf('"active_agent"') + 1] = 'A'.charCodeAt(0);
    fs.writeFileSync(file, altered);
    const again = await importArchive({ sandbox: 'swapped', file, overwrite: true }, testDeps(swapped.home)).then(() => undefined, (e: unknown) => e);
    expect((again as Error).message).toMatch(/does not match its sha256/);
    expect(summary.files).toBeGreaterThan(1);
  });
});
