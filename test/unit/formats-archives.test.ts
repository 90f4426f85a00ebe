import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Header } from 'tar';
import yazl from 'yazl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IntegrityError, RefusedError } from '../../src/errors.js';
import { extractTar, extractTarStreaming, readTarEntries, writeTar, type TarWriteEntry } from '../../src/formats/tar.js';
import { extractZipEntries, listZip, writeZip, type ZipWriteEntry } from '../../src/formats/zip.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-archives-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const MTIME = new Date('2026-04-21T14:11:24.000Z');
const LONG_NAME = `deep/${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(40)}.md`;

/** A small tree on disk: nested dirs, empty and binary files, a long and a non-ASCII name, a > 4 MiB file. */
function makeTree(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'config.json': Buffer.from('{"agents":{}}\n'),
    'workspaces/main/SOUL.md': Buffer.from('# soul\n'.repeat(200)),
    'workspaces/main/empty.txt': Buffer.alloc(0),
    'workspaces/main/blob.bin': crypto.randomBytes(70_000),
    'workspaces/main/notes-é✓.md': Buffer.from('unicode name\n'),
    [LONG_NAME]: Buffer.from('long name\n'),
    'big/large.bin': Buffer.concat([crypto.randomBytes(3 * 1024 * 1024), Buffer.alloc(2 * 1024 * 1024, 7)]),
  };
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  fs.mkdirSync(path.join(root, 'empty-dir'));
  return files;
}

function expectTree(root: string, files: Record<string, Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    expect(fs.readFileSync(full).equals(content), rel).toBe(true);
    expect(fs.statSync(full).mode & 0o777, rel).toBe(0o600);
  }
  expect(fs.statSync(path.join(root, 'workspaces/main')).mode & 0o777).toBe(0o700);
  expect(fs.statSync(path.join(root, 'empty-dir')).isDirectory()).toBe(true);
}

function tarEntries(root: string, files: Record<string, Buffer>): TarWriteEntry[] {
  const dirs = new Set<string>(['empty-dir']);
  for (const rel of Object.keys(files)) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [
    ...[...dirs].sort().map((name): TarWriteEntry => ({ name, type: 'directory', mode: 0o755, mtime: MTIME })),
    ...Object.keys(files).map((name): TarWriteEntry => ({ name, type: 'file', file: path.join(root, name), mode: 0o644, mtime: MTIME })),
  ];
}

function isEmptyOrMissing(root: string): boolean {
  return !fs.existsSync(root) || fs.readdirSync(root).length === 0;
}

async function* asAsync<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

function hasTool(name: string, versionFlag = '--version'): boolean {
  try {
    execFileSync(name, [versionFlag], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('tar', () => {
  for (const gzip of [true, false]) {
    it(`round-trips a tree${gzip ? ' through gzip' : ''}, symlinks included when allowed`, async () => {
      const src = path.join(dir, 'src');
      const files = makeTree(src);
      const archive = path.join(dir, gzip ? 'out.tar.gz' : 'out.tar');
      const entries = [
        ...tarEntries(src, files),
        { name: 'workspaces/main/link', type: 'symlink', linkTarget: 'SOUL.md', mode: 0o777, mtime: MTIME } satisfies TarWriteEntry,
        { name: 'inline.txt', type: 'file', buffer: Buffer.from('from a buffer'), mode: 0o600, mtime: MTIME.getTime() } satisfies TarWriteEntry,
      ];
      const summary = await writeTar(archive, asAsync(entries), { gzip });
      expect(summary.entries).toBe(entries.length);
      expect(fs.statSync(archive).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(dir).sort()).toEqual([path.basename(archive), 'src'].sort());

      const listed = await readTarEntries(archive);
      expect(listed.map((e) => e.name.replace(/\/$/, ''))).toEqual(entries.map((e) => e.name));
      const big = listed.find((e) => e.name === 'big/large.bin');
      expect(big).toMatchObject({ type: 'file', size: files['big/large.bin']!.length, mode: 0o644 });
      expect(big?.mtime?.getTime()).toBe(MTIME.getTime());
      expect(listed.find((e) => e.name === LONG_NAME)?.type).toBe('file');
      expect(listed.find((e) => e.name === 'workspaces/main/link')).toMatchObject({ type: 'symlink', linkTarget: 'SOUL.md' });

      const dest = path.join(dir, 'dest');
      const result = await extractTar(archive, dest, (name) => name, { allowSymlinks: (name) => name === 'workspaces/main/link' });
      expectTree(dest, files);
      expect(fs.readlinkSync(path.join(dest, 'workspaces/main/link'))).toBe('SOUL.md');
      expect(fs.readFileSync(path.join(dest, 'inline.txt'), 'utf8')).toBe('from a buffer');
      expect(result).toMatchObject({ files: Object.keys(files).length + 1, symlinks: 1, skipped: 0 });
    });
  }

  it.skipIf(!hasTool('tar'))('writes archives that GNU tar reads', async () => {
    const src = path.join(dir, 'src');
    const files = makeTree(src);
    const archive = path.join(dir, 'out.tar.gz');
    await writeTar(archive, tarEntries(src, files), { gzip: true });
    const dest = path.join(dir, 'gnu');
    fs.mkdirSync(dest);
    execFileSync('tar', ['-xzf', archive, '-C', dest]);
    for (const [rel, content] of Object.entries(files)) expect(fs.readFileSync(path.join(dest, rel)).equals(content), rel).toBe(true);
  });

  it('maps and skips entries, and keeps modes when asked', async () => {
    const archive = path.join(dir, 'bundle.tar');
    await writeTar(
      archive,
      [
        { name: 'payload', type: 'directory', mode: 0o755, mtime: MTIME },
        { name: 'payload/run.sh', type: 'file', buffer: Buffer.from('#!/bin/sh\n'), mode: 0o4775, mtime: MTIME },
        { name: 'rebuild-manifest.json', type: 'file', buffer: Buffer.from('{}'), mode: 0o644, mtime: MTIME },
      ],
      { gzip: false },
    );
    const dest = path.join(dir, 'dest');
    const map = (name: string): string | null => (name.startsWith('payload/') ? name.slice('payload/'.length) : null);
    const result = await extractTar(archive, dest, map, { preserveModes: true });
    expect(fs.readdirSync(dest)).toEqual(['run.sh']);
    expect(fs.statSync(path.join(dest, 'run.sh')).mode & 0o7777).toBe(0o755);
    expect(result.skipped).toBe(2);
  });

  it('extracts in one pass, hashing each file as it is written; what the hook throws refuses the archive', async () => {
    const src = path.join(dir, 'src');
    const files = makeTree(src);
    const archive = path.join(dir, 'tree.tar.gz');
    await writeTar(archive, tarEntries(src, files), { gzip: true });
    const dest = path.join(dir, 'dest');
    const hashed = new Map<string, string>();
    const result = await extractTarStreaming(archive, dest, (name) => name, {
      fileMode: (rel) => (rel === 'config.json' ? 0o444 : 0o600),
      fileWritten: (rel, size, sha256) => {
        expect(size).toBe(files[rel]!.length);
        hashed.set(rel, sha256);
      },
    });
    expect(result.files).toBe(Object.keys(files).length);
    for (const [rel, content] of Object.entries(files)) {
      expect(fs.readFileSync(path.join(dest, rel)).equals(content), rel).toBe(true);
      expect(hashed.get(rel), rel).toBe(crypto.createHash('sha256').update(content).digest('hex'));
    }
    expect(fs.statSync(path.join(dest, 'config.json')).mode & 0o777).toBe(0o444);
    const refused = extractTarStreaming(archive, path.join(dir, 'dest2'), (name) => name, {
      fileWritten: (rel) => {
        if (rel === 'big/large.bin') throw new IntegrityError('archive-mismatch', `${rel} is not the file expected`);
      },
    });
    await expect(refused).rejects.toMatchObject({ code: 'archive-mismatch' });
    // entries are still checked by the guard, one at a time
    await expect(extractTarStreaming(archive, path.join(dir, 'dest3'), () => '../escaped')).rejects.toBeInstanceOf(RefusedError);
    expect(fs.existsSync(path.join(dir, 'escaped'))).toBe(false);
  });

  it('refuses a map that points outside the destination, before writing anything', async () => {
    const archive = path.join(dir, 'a.tar');
    await writeTar(archive, [{ name: 'a', type: 'file', buffer: Buffer.from('x'), mode: 0o644, mtime: MTIME }], { gzip: false });
    const dest = path.join(dir, 'dest');
    await expect(extractTar(archive, dest, () => '../escaped')).rejects.toBeInstanceOf(RefusedError);
    expect(fs.existsSync(path.join(dir, 'escaped'))).toBe(false);
    expect(isEmptyOrMissing(dest)).toBe(true);
  });

  it('round-trips an archive without entries, but not an empty file', async () => {
    const archive = path.join(dir, 'empty.tar.gz');
    await writeTar(archive, [], { gzip: true });
    expect(await readTarEntries(archive)).toEqual([]);
    expect(await extractTar(archive, path.join(dir, 'dest'), (n) => n)).toMatchObject({ files: 0, directories: 0 });
    fs.writeFileSync(archive, '');
    await expect(readTarEntries(archive)).rejects.toMatchObject({ code: 'corrupt-archive' });
  });

  it('reports a damaged archive as corrupt', async () => {
    const src = path.join(dir, 'src');
    const files = makeTree(src);
    const archive = path.join(dir, 'out.tar.gz');
    await writeTar(archive, tarEntries(src, files), { gzip: true });
    const bytes = fs.readFileSync(archive);
    fs.writeFileSync(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(readTarEntries(archive)).rejects.toBeInstanceOf(IntegrityError);
    await expect(extractTar(archive, path.join(dir, 'dest'), (n) => n)).rejects.toMatchObject({ code: 'corrupt-archive' });
    expect(isEmptyOrMissing(path.join(dir, 'dest'))).toBe(true);
  });

  /** A raw tar built header by header, so it can hold what writeTar refuses to write. */
  function rawTar(entries: Array<{ path: string; type: string; body?: string; linkpath?: string }>): Buffer {
    const blocks: Buffer[] = [];
    for (const entry of entries) {
      const body = Buffer.from(entry.body ?? '');
      const block = Buffer.alloc(512);
      const header = new Header({ path: entry.path, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: MTIME, linkpath: entry.linkpath ?? '' });
      header.type = entry.type as 'File';
      header.encode(block, 0);
      blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
  }

  const hostileTars: Array<[string, { path: string; type: string; body?: string; linkpath?: string }]> = [
    ['a .. path', { path: '../x', type: 'File', body: 'evil' }],
    ['a nested .. path', { path: 'ok/../../x', type: 'File', body: 'evil' }],
    ['an absolute path', { path: '/abs', type: 'File', body: 'evil' }],
    ['a symlink to /etc', { path: 'etc-link', type: 'SymbolicLink', linkpath: '/etc' }],
    ['a relative symlink nobody allowed', { path: 'rel-link', type: 'SymbolicLink', linkpath: 'good.txt' }],
    ['a hard link', { path: 'hard', type: 'Link', linkpath: 'good.txt' }],
    ['a character device', { path: 'tty', type: 'CharacterDevice' }],
    ['a FIFO', { path: 'fifo', type: 'FIFO' }],
    ['a duplicate', { path: 'good.txt', type: 'File', body: 'second copy' }],
  ];

  for (const [what, entry] of hostileTars) {
    for (const gzip of [false, true]) {
      it(`refuses ${what}${gzip ? ' (gzip)' : ''} with nothing written`, async () => {
        const archive = path.join(dir, gzip ? 'hostile.tar.gz' : 'hostile.tar');
        const raw = rawTar([{ path: 'good.txt', type: 'File', body: 'fine' }, { path: 'sub', type: 'Directory' }, entry]);
        fs.writeFileSync(archive, gzip ? zlib.gzipSync(raw) : raw);
        const dest = path.join(dir, 'dest');
        const error: unknown = await extractTar(archive, dest, (n) => n).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RefusedError);
        expect((error as RefusedError).code).toBe('hostile-archive');
        expect((error as RefusedError).message).toContain(JSON.stringify(entry.path));
        expect(isEmptyOrMissing(dest)).toBe(true);
        expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
      });
    }
  }

  it('refuses an allowed symlink that escapes, and entries below an allowed symlink', async () => {
    const dest = path.join(dir, 'dest');
    const allowSymlinks = (): boolean => true;
    const escaping = path.join(dir, 'escaping.tar');
    fs.writeFileSync(escaping, rawTar([{ path: 'a/link', type: 'SymbolicLink', linkpath: '../../outside' }]));
    await expect(extractTar(escaping, dest, (n) => n, { allowSymlinks })).rejects.toBeInstanceOf(RefusedError);

    const below = path.join(dir, 'below.tar');
    fs.writeFileSync(
      below,
      rawTar([
        { path: 'link', type: 'SymbolicLink', linkpath: 'real' },
        { path: 'link/file', type: 'File', body: 'through the link' },
      ]),
    );
    await expect(extractTar(below, dest, (n) => n, { allowSymlinks })).rejects.toThrow(/link\/file/);
    expect(isEmptyOrMissing(dest)).toBe(true);
  });
});

describe('zip', () => {
  function zipEntries(root: string, files: Record<string, Buffer>): ZipWriteEntry[] {
    return [
      { name: 'meta.json', buffer: Buffer.from('{"version":"1"}'), mtime: MTIME },
      { name: 'empty-dir/', mtime: MTIME },
      ...Object.keys(files).map((name): ZipWriteEntry => ({ name, file: path.join(root, name), mtime: MTIME, mode: 0o644 })),
    ];
  }

  for (const forceZip64 of [false, true]) {
    it(`round-trips a tree${forceZip64 ? ' with Zip64 records' : ''}`, async () => {
      const src = path.join(dir, 'src');
      const files = makeTree(src);
      const archive = path.join(dir, 'out.zip');
      const entries = zipEntries(src, files);
      const summary = await writeZip(archive, asAsync(entries), { forceZip64 });
      expect(summary.entries).toBe(entries.length);
      expect(fs.statSync(archive).mode & 0o777).toBe(0o600);

      const listed = await listZip(archive);
      expect(listed.map((e) => e.name)).toEqual(entries.map((e) => e.name));
      expect(listed[1]).toMatchObject({ name: 'empty-dir/', type: 'directory', isDirectory: true });
      const large = listed.find((e) => e.name === 'big/large.bin');
      expect(large).toMatchObject({ type: 'file', isSymlink: false, mode: 0o644, size: files['big/large.bin']!.length });
      expect(large!.compressedSize).toBeLessThan(large!.size);
      expect(listed.find((e) => e.name === 'workspaces/main/SOUL.md')?.mtime.getTime()).toBe(MTIME.getTime());

      const dest = path.join(dir, 'dest');
      const result = await extractZipEntries(archive, dest, (name) => name);
      expectTree(dest, files);
      expect(fs.readFileSync(path.join(dest, 'meta.json'), 'utf8')).toBe('{"version":"1"}');
      expect(result).toMatchObject({ files: Object.keys(files).length + 1, skipped: 0 });
    });
  }

  it('maps the QwenPaw data/ prefix and skips meta.json', async () => {
    const archive = path.join(dir, 'qwenpaw.zip');
    await writeZip(archive, [
      { name: 'meta.json', buffer: Buffer.from('{}') },
      { name: 'data/config.json', buffer: Buffer.from('{"agents":{}}') },
      { name: 'data/workspaces/main/AGENTS.md', buffer: Buffer.from('hi') },
    ]);
    const dest = path.join(dir, 'dest');
    const result = await extractZipEntries(archive, dest, (name) => (name.startsWith('data/') ? name.slice(5) : null));
    expect(fs.readFileSync(path.join(dest, 'workspaces/main/AGENTS.md'), 'utf8')).toBe('hi');
    expect(fs.readdirSync(dest).sort()).toEqual(['config.json', 'workspaces']);
    expect(result.skipped).toBe(1);
  });

  it('round-trips a zip without entries', async () => {
    const archive = path.join(dir, 'empty.zip');
    await writeZip(archive, []);
    expect(await listZip(archive)).toEqual([]);
  });

  it('reads zips written by yazl', async () => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('hello'), 'data/hello.txt', { mtime: MTIME, mode: 0o100644 });
    zip.addEmptyDirectory('data/skill_pool/', { mtime: MTIME });
    const archive = path.join(dir, 'yazl.zip');
    fs.writeFileSync(archive, await yazlBytes(zip));
    const dest = path.join(dir, 'dest');
    await extractZipEntries(archive, dest, (n) => n);
    expect(fs.readFileSync(path.join(dest, 'data/hello.txt'), 'utf8')).toBe('hello');
    expect(fs.statSync(path.join(dest, 'data/skill_pool')).isDirectory()).toBe(true);
  });

  it.skipIf(!hasTool('unzip', '-v'))('writes zips that Info-ZIP unzip verifies', async () => {
    const src = path.join(dir, 'src');
    const files = makeTree(src);
    for (const forceZip64 of [false, true]) {
      const archive = path.join(dir, `out-${forceZip64}.zip`);
      await writeZip(archive, zipEntries(src, files), { forceZip64 });
      expect(execFileSync('unzip', ['-tq', archive]).toString()).toContain('No errors detected');
    }
  });

  it('reports damaged data as corrupt', async () => {
    const archive = path.join(dir, 'out.zip');
    const content = Buffer.from('compressible text '.repeat(2000));
    await writeZip(archive, [{ name: 'a.txt', buffer: content }]);
    const bytes = fs.readFileSync(archive);
    bytes[60]! ^= 0xff; // inside a.txt's deflate stream (the local header and name end at byte 44)
    fs.writeFileSync(archive, bytes);
    const error: unknown = await extractZipEntries(archive, path.join(dir, 'dest'), (n) => n).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as IntegrityError).code).toBe('corrupt-archive');

    // An entry over 4 MiB takes the streaming path.
    const large = Buffer.from(crypto.randomBytes(2_500_000).toString('hex'));
    await writeZip(path.join(dir, 'large.zip'), [{ name: 'large.txt', buffer: large }]);
    const largeBytes = fs.readFileSync(path.join(dir, 'large.zip'));
    largeBytes[Math.floor(largeBytes.length / 2)]! ^= 0xff;
    fs.writeFileSync(archive, largeBytes);
    const largeError: unknown = await extractZipEntries(archive, path.join(dir, 'dest2'), (n) => n).catch((e: unknown) => e);
    expect((largeError as IntegrityError).code).toBe('corrupt-archive');

    fs.writeFileSync(archive, 'not a zip at all');
    await expect(listZip(archive)).rejects.toMatchObject({ code: 'corrupt-archive' });
  });

  async function yazlBytes(zip: yazl.ZipFile): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
      zip.outputStream.on('end', () => resolve());
      zip.outputStream.on('error', reject);
    });
    zip.end();
    await done;
    return Buffer.concat(chunks);
  }

  /** Builds a zip with yazl, then rewrites placeholder names (same length) in local and central headers. */
  async function hostileZip(build: (zip: yazl.ZipFile) => void, patches: Array<[string, string]> = []): Promise<string> {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('fine'), 'good.txt', { mtime: MTIME, compress: false });
    build(zip);
    let bytes = await yazlBytes(zip);
    for (const [from, to] of patches) {
      expect(Buffer.byteLength(from)).toBe(Buffer.byteLength(to));
      const needle = Buffer.from(from);
      let at = bytes.indexOf(needle);
      expect(at).toBeGreaterThanOrEqual(0);
      while (at >= 0) {
        Buffer.from(to).copy(bytes, at);
        at = bytes.indexOf(needle, at + 1);
      }
    }
    bytes = Buffer.from(bytes);
    const file = path.join(dir, 'hostile.zip');
    fs.writeFileSync(file, bytes);
    return file;
  }

  const hostileZips: Array<[string, string, (zip: yazl.ZipFile) => void, Array<[string, string]>?]> = [
    ['a .. path', '../evil', (z) => z.addBuffer(Buffer.from('x'), 'QQ/evil', { compress: false }), [['QQ/evil', '../evil']]],
    ['an absolute path', '/abs/file', (z) => z.addBuffer(Buffer.from('x'), 'Qabs/file', { compress: false }), [['Qabs/file', '/abs/file']]],
    ['a drive letter', 'C:/evil', (z) => z.addBuffer(Buffer.from('x'), 'CQ/evil', { compress: false }), [['CQ/evil', 'C:/evil']]],
    ['a backslash', 'a\\\\..\\\\evil', (z) => z.addBuffer(Buffer.from('x'), 'aQ..Qevil', { compress: false }), [['aQ..Qevil', 'a\\..\\evil']]],
    ['a NUL byte', 'a\\u0000b', (z) => z.addBuffer(Buffer.from('x'), 'aQb', { compress: false }), [['aQb', 'a\0b']]],
    ['a symlink entry', 'link', (z) => z.addBuffer(Buffer.from('/etc/passwd'), 'link', { mode: 0o120777, compress: false })],
    ['a duplicate name', 'good.txt', (z) => z.addBuffer(Buffer.from('again'), 'good.txt', { compress: false })],
    ['an invalid agent id', 'data/workspaces/x.y/a', (z) => z.addBuffer(Buffer.from('x'), 'data/workspaces/x.y/a', { compress: false })],
    ['a 2 MiB entry compressed over 200:1', 'bomb.bin', (z) => z.addBuffer(Buffer.alloc(2 * 1024 * 1024), 'bomb.bin')],
  ];

  for (const [what, named, build, patches] of hostileZips) {
    it(`refuses ${what} with nothing written`, async () => {
      const archive = await hostileZip((zip) => {
        zip.addEmptyDirectory('sub/', { mtime: MTIME });
        build(zip);
      }, patches);
      const dest = path.join(dir, 'dest');
      const error: unknown = await extractZipEntries(archive, dest, (n) => n).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RefusedError);
      expect((error as RefusedError).code).toBe('hostile-archive');
      expect((error as RefusedError).message).toContain(named);
      expect(isEmptyOrMissing(dest)).toBe(true);
      expect(fs.existsSync(path.join(dir, 'evil'))).toBe(false);
    });
  }

  it('lists hostile names as stored, for diagnostics', async () => {
    const archive = await hostileZip((zip) => zip.addBuffer(Buffer.from('/etc'), 'link', { mode: 0o120777 }), []);
    const listed = await listZip(archive);
    expect(listed.map((e) => [e.name, e.type])).toEqual([
      ['good.txt', 'file'],
      ['link', 'symlink'],
    ]);
    expect(listed[1]!.isSymlink).toBe(true);
  });
});
