import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarriedTree, TREE_DIR, TREE_FILE, TREE_SYMLINK, TreeNames } from '../../src/engine/restore/carried-tree.js';
import { HashJobList, hashJobsInline, startLiveHashing } from '../../src/engine/restore/live-hash.js';
import { LOCAL_LIVE_VIEW, type LiveChild, type LiveView } from '../../src/engine/restore/live-view.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-columns-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A live tree held in memory: directory path -> its children. */
function memoryView(tree: Record<string, LiveChild[]>): LiveView {
  return {
    lstat: () => undefined,
    children: (d) => tree[d],
    readable: () => true,
    linkTarget: () => '',
    realpathLoose: (p) => p,
    readText: () => undefined,
  };
}

describe('a carried tree held as columns', () => {
  it('gives back every name in walk order, with its parent and type, from one string', () => {
    const odd = 'odd-\udcff.js';
    const view = memoryView({
      '/r': [{ name: 'a', type: 'dir' }, { name: 'top.txt', type: 'file' }, { name: 'empty', type: 'dir' }],
      '/r/a': [{ name: odd, type: 'file' }, { name: 'with space', type: 'symlink' }],
      '/r/empty': [],
    });
    const tree = CarriedTree.walk(view, '/r', 'mods', []);
    const columns = tree.columns();
    expect(typeof columns.names).toBe('string');
    const names = new TreeNames(columns.names);
    const rows = Array.from({ length: tree.length }, (_, i) => [names.next(), columns.parents[i], columns.types[i]]);
    // The walk takes directories from a stack: `empty` (pushed last) is listed before `a`.
    expect(rows).toEqual([
      ['a', -1, TREE_DIR],
      ['top.txt', -1, TREE_FILE],
      ['empty', -1, TREE_DIR],
      [odd, 0, TREE_FILE],
      ['with space', 0, TREE_SYMLINK],
    ]);
    expect(tree.files).toBe(3);
    expect(tree.first).toEqual([`mods/a/${odd}`, 'mods/a/with space', 'mods/top.txt'].sort());
    expect(tree.fileDisplays('mods')).toEqual([`mods/a/${odd}`, 'mods/a/with space', 'mods/top.txt'].sort());
  });

  it('holds an empty tree as an empty string', () => {
    const tree = CarriedTree.walk(memoryView({ '/r': [] }), '/r', 'mods', []);
    expect(tree.length).toBe(0);
    expect(tree.columns().names).toBe('');
    expect(tree.fileDisplays('mods')).toEqual([]);
  });
});

describe('hash jobs held as columns', () => {
  it('checks each file against its size, sha256 and (live files) mode and mtime, in order', async () => {
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    const write = (name: string, text: string): { path: string; mode: number; mtimeMs: number } => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const stat = fs.statSync(file);
      return { path: file, mode: stat.mode & 0o777, mtimeMs: stat.mtimeMs };
    };
    const same = write('same.txt', 'abc');
    const other = write('other.txt', 'abd');
    const bundle = write('bundle.db', 'xyz');
    const list = new HashJobList();
    list.add({ path: same.path, size: 3, sha256: sha('abc'), live: { mode: same.mode, mtimeMs: same.mtimeMs } });
    list.add({ path: other.path, size: 3, sha256: sha('abc'), live: { mode: other.mode, mtimeMs: other.mtimeMs } });
    list.add({ path: same.path, size: 3, sha256: sha('abc'), live: { mode: same.mode ^ 0o1, mtimeMs: same.mtimeMs } });
    list.add({ path: path.join(dir, 'missing'), size: 3, sha256: sha('abc') });
    list.add({ path: bundle.path, size: 3, sha256: sha('xyz') });
    list.add({ path: bundle.path, size: 3, sha256: '' });
    expect([...hashJobsInline(list.columns())]).toEqual([1, 0, 0, 0, 1, 0]);
    const hashing = startLiveHashing(list, { worker: false });
    expect(hashing.mode).toBe('inline');
    expect([...(await hashing.results())]).toEqual([1, 0, 0, 0, 1, 0]);
  });

  it('reads back paths beyond latin1 and paths holding bytes that are not UTF-8 (escaped), whatever their neighbours', () => {
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    const named = (name: string | Buffer, text: string): string => {
      const file = Buffer.concat([Buffer.from(`${dir}/`), Buffer.isBuffer(name) ? name : Buffer.from(name)]);
      fs.writeFileSync(file, text);
      return `${dir}/${Buffer.isBuffer(name) ? 'odd-\udcff.txt' : name}`;
    };
    const plain = named('plain.txt', 'p');
    const latin = named('caf\u00e9.txt', 'l');
    const wide = named('\u65e5\u8a18.txt', 'w');
    const escaped = named(Buffer.concat([Buffer.from('odd-'), Buffer.from([0xff]), Buffer.from('.txt')]), 'e');
    const only = (paths: string[], texts: string[]): number[] => {
      const list = new HashJobList();
      paths.forEach((p, i) => list.add({ path: p, size: 1, sha256: sha(texts[i]!) }));
      return [...hashJobsInline(list.columns())];
    };
    // One byte per character while every path allows it; two once any does not.
    expect(only([plain, latin], ['p', 'l'])).toEqual([1, 1]);
    expect(only([plain, wide, latin], ['p', 'w', 'l'])).toEqual([1, 1, 1]);
    expect(only([escaped, plain], ['e', 'p'])).toEqual([1, 1]);
    // A sha256 that is not lowercase hex never matches, even one whose characters' low bytes would spell the digest.
    const list = new HashJobList();
    list.add({ path: plain, size: 1, sha256: sha('p').replace(/a/g, '\u0161') });
    list.add({ path: plain, size: 1, sha256: sha('p').toUpperCase() });
    expect([...hashJobsInline(list.columns())]).toEqual([0, 0]);
  });
});

describe('the local live view', () => {
  it('lists names that are not UTF-8 as their escaped bytes, and a real U+FFFD as itself', () => {
    const listed = path.join(dir, 'listed');
    fs.mkdirSync(listed);
    fs.writeFileSync(Buffer.concat([Buffer.from(`${listed}/bad-`), Buffer.from([0xff]), Buffer.from('.txt')]), 'x');
    fs.writeFileSync(path.join(listed, 'real-\uFFFD.txt'), 'y');
    fs.mkdirSync(path.join(listed, 'sub'));
    const children = LOCAL_LIVE_VIEW.children(listed)!;
    expect(children.map((c) => `${c.type}:${c.name}`).sort()).toEqual(['dir:sub', 'file:bad-\udcff.txt', 'file:real-\uFFFD.txt']);
    const plain = LOCAL_LIVE_VIEW.children(path.join(listed, 'sub'));
    expect(plain).toEqual([]);
    expect(LOCAL_LIVE_VIEW.children(path.join(dir, 'gone'))).toEqual([]);
  });
});
