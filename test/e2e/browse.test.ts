import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { bundleIds, flipByte, payloadPath } from '../helpers/bundles.js';
import { clawback, json, tempDir } from '../helpers/cli.js';

/** `snapshot ls|cat|find|stats` on a tiny OpenClaw home with three snapshots: SOUL.md changes in v2, USER.md in v3. */

interface Ref {
  id: string;
  timestamp: string;
  name: string | null;
  version: number | null;
}
interface LsDoc {
  snapshot: Ref;
  path: string;
  entries: Array<{ path: string; type: string; mode: number | null; size: number | null; mtime: string | null; target: string | null }>;
}
interface FindDoc {
  hits: Array<{ sandbox: string; snapshot: Ref; path: string; size: number | null; change: string }>;
}
interface Count {
  files: number;
  bytes: number;
  uniqueBytes: number;
}

let base: string;
let home: string;
let root: string;
const captured = new Map<string, Buffer>();

const ws = (rel: string): string => path.join(root, 'workspace', rel);

async function ok(args: string[]): Promise<ReturnType<typeof clawback>> {
  const run = await clawback(home, args);
  expect(run.exitCode, `${args.join(' ')}: ${String(run.stderr)}`).toBe(0);
  return run;
}

/** `snapshot cat` with stdout as raw bytes (the final newline kept). */
async function cat(selector: string, rel: string): Promise<{ exitCode: number | undefined; stdout: Buffer; stderr: string }> {
  const run = await clawback(home, ['oc', 'snapshot', 'cat', selector, rel], { encoding: 'buffer', stripFinalNewline: false });
  return { exitCode: run.exitCode, stdout: Buffer.from(run.stdout as unknown as Uint8Array), stderr: Buffer.from(run.stderr as unknown as Uint8Array).toString() };
}

beforeAll(async () => {
  base = tempDir('clawback-browse-');
  home = path.join(base, 'home');
  root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'oc') }).root;
  // Every byte value, and a file large enough to be streamed rather than read whole.
  fs.writeFileSync(ws('bytes.bin'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  fs.writeFileSync(ws('big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  await ok(['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root]);
  captured.set('v1:SOUL.md', fs.readFileSync(ws('SOUL.md')));
  await ok(['oc', 'snapshot', 'create', '--name', 'first']);
  fs.appendFileSync(ws('SOUL.md'), '\nwiser now\n');
  captured.set('v2:SOUL.md', fs.readFileSync(ws('SOUL.md')));
  await ok(['oc', 'snapshot', 'create']);
  fs.appendFileSync(ws('USER.md'), '\nmoved to Lisbon\n');
  await ok(['oc', 'snapshot', 'create', '--name', 'third']);
}, 120_000);

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('snapshot cat', () => {
  it('writes exactly the bytes that were captured, for each snapshot', async () => {
    for (const selector of ['v1', 'v2']) {
      const run = await cat(selector, 'workspace/SOUL.md');
      expect(run.exitCode, String(run.stderr)).toBe(0);
      expect(Buffer.compare(run.stdout, captured.get(`${selector}:SOUL.md`)!)).toBe(0);
    }
    const bytes = await cat('first', 'workspace/bytes.bin');
    expect(Buffer.compare(bytes.stdout, fs.readFileSync(ws('bytes.bin')))).toBe(0);
    const big = await cat('latest', './workspace/big.bin');
    expect(big.exitCode).toBe(0);
    expect(Buffer.compare(big.stdout, fs.readFileSync(ws('big.bin')))).toBe(0);
  });

  it('refuses a directory, a symlink and a SQLite database with a hint, and names a missing path (exit 4)', async () => {
    const dir = await clawback(home, ['oc', 'snapshot', 'cat', 'v1', 'workspace']);
    expect([dir.exitCode, String(dir.stdout)]).toEqual([5, '']);
    expect(String(dir.stderr)).toContain('snapshot ls v1 workspace');
    const link = await clawback(home, ['oc', 'snapshot', 'cat', 'v1', 'workspace/current-notes']);
    expect([link.exitCode, String(link.stdout)]).toEqual([5, '']);
    expect(String(link.stderr)).toMatch(/is a symlink to memory\/.*\nhint: cat the path it points to: workspace\/memory\//);
    const db = await clawback(home, ['oc', 'snapshot', 'cat', 'v1', 'memory/main.sqlite']);
    expect([db.exitCode, String(db.stdout)]).toEqual([5, '']);
    expect(String(db.stderr)).toContain('restore v1 --path memory/main.sqlite');
    const missing = await clawback(home, ['oc', 'snapshot', 'cat', 'v1', 'workspace/NOPE.md']);
    expect(missing.exitCode).toBe(4);
  });

  it('fails with exit 6 on a tampered payload file: nothing written for a small one, the count of bytes written for a streamed one', async () => {
    const v1 = bundleIds(home, 'oc')[0]!;
    flipByte(payloadPath(home, 'oc', v1, 'workspace/SOUL.md'), 3);
    const small = await cat('v1', 'workspace/SOUL.md');
    expect(small.exitCode).toBe(6);
    expect((small.stdout).length).toBe(0);
    expect(String(small.stderr)).toContain('workspace/SOUL.md');
    const size = fs.statSync(ws('big.bin')).size;
    flipByte(payloadPath(home, 'oc', v1, 'workspace/big.bin'), size - 1);
    const big = await cat('v1', 'workspace/big.bin');
    expect(big.exitCode).toBe(6);
    expect((big.stdout).length).toBe(size);
    expect(String(big.stderr)).toContain(`${size} byte(s) were already written`);
  });
});

describe('snapshot ls', () => {
  it('lists a subdirectory with the right types, modes and sizes (--json)', async () => {
    const doc = json<LsDoc>(await ok(['oc', 'snapshot', 'ls', 'first', 'workspace/', '--json']));
    expect(doc.path).toBe('workspace');
    expect(doc.snapshot).toMatchObject({ name: 'first', version: 1 });
    const byPath = new Map(doc.entries.map((e) => [e.path, e]));
    for (const e of doc.entries) expect(e.path.startsWith('workspace/')).toBe(true);
    const soul = fs.lstatSync(ws('bytes.bin'));
    expect(byPath.get('workspace/bytes.bin')).toMatchObject({ type: 'file', size: 256, mode: soul.mode & 0o7777 });
    expect(byPath.get('workspace/SOUL.md')).toMatchObject({ type: 'file', size: captured.get('v1:SOUL.md')!.length });
    expect(byPath.get('workspace/memory')).toMatchObject({ type: 'dir', size: null });
    expect(byPath.get('workspace/current-notes')).toMatchObject({ type: 'symlink', target: fs.readlinkSync(ws('current-notes')) });
    const memory = fs.readdirSync(ws('memory')).map((n) => `workspace/memory/${n}`).sort();
    expect(doc.entries.filter((e) => e.path.startsWith('workspace/memory/')).map((e) => e.path)).toEqual(memory);
  });

  it('prints a tree by default and ls -l lines with --long', async () => {
    const tree = String((await ok(['oc', 'snapshot', 'ls', 'v1', 'workspace/memory'])).stdout).split('\n');
    expect(tree[0]).toMatch(/^v1 \S+ "first": workspace\/memory$/);
    const first = fs.readdirSync(ws('memory')).sort()[0]!;
    expect(tree).toContain(`${first}  ${(fs.statSync(ws(`memory/${first}`)).size / 1024).toFixed(1)} KiB`);
    const long = String((await ok(['oc', 'snapshot', 'ls', 'v2', 'workspace', '--long'])).stdout);
    expect(long).toMatch(new RegExp(`^-rw-r--r-- +${captured.get('v2:SOUL.md')!.length}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d  workspace/SOUL\\.md$`, 'm'));
    expect(long).toMatch(/^drwx[rwx-]{6} +- +- +workspace\/memory\/$/m);
    expect(long).toMatch(/^lrwxrwxrwx .* workspace\/current-notes -> memory\//m);
  });

  it('a path the snapshot does not hold is exit 4', async () => {
    const run = await clawback(home, ['oc', 'snapshot', 'ls', 'v1', 'workspace/nowhere']);
    expect(run.exitCode).toBe(4);
    expect(String(run.stderr)).toContain('holds nothing at workspace/nowhere');
  });
});

describe('snapshot find', () => {
  it('names the snapshots that hold a file, newest first, and where it changed', async () => {
    const doc = json<FindDoc>(await ok(['oc', 'snapshot', 'find', 'workspace/SOUL.md', '--json']));
    expect(doc.hits.map((h) => [h.snapshot.version, h.change, h.size])).toEqual([
      [3, 'same', captured.get('v2:SOUL.md')!.length],
      [2, 'changed', captured.get('v2:SOUL.md')!.length],
      [1, 'new', captured.get('v1:SOUL.md')!.length],
    ]);
    const user = json<FindDoc>(await ok(['oc', 'snapshot', 'find', 'USER.md', '--json']));
    const mainUser = user.hits.filter((h) => h.path === 'workspace/USER.md');
    expect(mainUser.map((h) => [h.snapshot.version, h.change])).toEqual([[3, 'changed'], [2, 'same'], [1, 'new']]);
    const text = String((await ok(['oc', 'snapshot', 'find', 'workspace/SOUL.md'])).stdout).trim().split('\n');
    expect(text).toHaveLength(3);
    expect(text[0]).toMatch(/^v3 \S+ "third" +\S+ \S+  same +workspace\/SOUL\.md$/);
    expect(text[1]).toMatch(/^v2 \S+ +\S+ \S+  changed +workspace\/SOUL\.md$/);
  });

  it('--all searches every registered sandbox; no match is exit 0 with a line saying so', async () => {
    const other = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'other') }).root;
    await ok(['sandbox', 'add', 'other', '--agent', 'openclaw', '--root', other]);
    await ok(['other', 'snapshot', 'create']);
    const doc = json<FindDoc>(await ok(['oc', 'snapshot', 'find', 'workspace/SOUL.md', '--all', '--json']));
    expect(doc.hits.map((h) => h.sandbox)).toEqual(['oc', 'oc', 'oc', 'other']);
    const none = await ok(['oc', 'snapshot', 'find', '*.nothing']);
    expect(String(none.stdout)).toContain('no snapshot holds a path matching *.nothing');
  });
});

describe('snapshot stats', () => {
  it('counts unique bytes and real disk use for two snapshots, the second hard-linking what did not change', async () => {
    const statsHome = path.join(base, 'stats-home');
    const statsRoot = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'stats') }).root;
    const run = (args: string[]): ReturnType<typeof clawback> => clawback(statsHome, args);
    expect((await run(['sandbox', 'add', 's', '--agent', 'openclaw', '--root', statsRoot])).exitCode).toBe(0);
    const soul = path.join(statsRoot, 'workspace', 'SOUL.md');
    const before = fs.statSync(soul).size;
    expect((await run(['s', 'snapshot', 'create'])).exitCode).toBe(0);
    fs.writeFileSync(soul, 'a new soul, 24 bytes ok\n');
    expect((await run(['s', 'snapshot', 'create'])).exitCode).toBe(0);

    const v1 = json<Count & { modules: Array<Count & { module: string }> }>(await run(['s', 'snapshot', 'stats', 'v1', '--json']));
    const v2 = json<Count & { modules: Array<Count & { module: string }> }>(await run(['s', 'snapshot', 'stats', 'v2', '--json']));
    expect(v2.files).toBe(v1.files);
    expect(v2.bytes).toBe(v1.bytes - before + 24);
    expect(v1.uniqueBytes).toBe(before);
    expect(v2.uniqueBytes).toBe(24);
    expect(v2.modules.find((m) => m.module === 'workspaces')).toMatchObject({ uniqueBytes: 24 });
    expect(v2.modules.filter((m) => m.module !== 'workspaces').every((m) => m.uniqueBytes === 0)).toBe(true);
    expect(v2.modules.reduce((sum, m) => sum + m.bytes, 0)).toBe(v2.bytes);

    const all = json<{ totals: Count & { snapshots: number }; disk: { bytes: number; files: number }; snapshots: Array<Count & { snapshot: Ref }> }>(await run(['s', 'snapshot', 'stats', '--json']));
    expect(all.snapshots.map((s) => [s.snapshot.version, s.uniqueBytes])).toEqual([[2, 24], [1, before]]);
    expect(all.totals).toEqual({ snapshots: 2, files: v1.files * 2, bytes: v1.bytes + v2.bytes, uniqueBytes: before + 24 });
    // Unchanged files are hard links: on disk, the first snapshot plus the one new file.
    expect(all.disk).toEqual({ bytes: v1.bytes + 24, files: v1.files + 1 });
    const text = String((await run(['s', 'snapshot', 'stats'])).stdout);
    expect(text).toContain(`2 snapshots: ${v1.files * 2} files`);
  });
});
