import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { writeNemoClawBundle } from '../../fixtures/nemoclaw-bundle.js';
import { BIN, clawback, json, tempDir } from '../helpers/cli.js';
import { openClawFixture, restoreLeftovers, type RestoreFixture } from '../helpers/restore.js';
import { databaseContent } from '../helpers/sqlite.js';
import { copyTree, readTree, treeDigest, type TreeItem } from '../helpers/tree.js';

const DAY = 24 * 60 * 60 * 1000;
const SOUL = 'workspace/SOUL.md';
const DAY_FILE = 'workspace/memory/2025-12-30.md';

interface RestoreDoc {
  restore: {
    counts: { replaced: number; added: number; removed: number };
    paths: { replaced: string[]; added: string[]; removed: string[] };
    preRestore: { selector: string } | null;
  };
}

/** Every non-directory entry's inode: a file restore --path did not name must keep its inode. */
function inodes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const childRel = rel ? `${rel}/${name}` : name;
      const stat = fs.lstatSync(path.join(dir, name));
      if (stat.isDirectory()) walk(path.join(dir, name), childRel);
      else out.set(childRel, stat.ino);
    }
  };
  walk(root, '');
  return out;
}

/** Files with bytes, modes and mtimes (databases by rows), directories by mode: what a user would notice. */
function state(root: string): Map<string, TreeItem> {
  const tree = readTree(root, { times: true, databasesByContent: true });
  // The restore swaps the root as a whole: directories are new ones (same modes), files are the same inodes.
  for (const [rel, item] of tree) if (item.type === 'dir') tree.set(rel, { type: 'dir', mode: item.mode });
  return tree;
}

function without<T>(map: Map<string, T>, gone: readonly string[]): Map<string, T> {
  const copy = new Map(map);
  for (const rel of gone) copy.delete(rel);
  return copy;
}

let f: RestoreFixture;
let template: string;
const at = (daysAgo: number): Record<string, string> => ({ CLAWBACK_TEST_NOW: new Date(Date.now() - daysAgo * DAY).toISOString() });

/** `snapshot cat`: the bytes the snapshot holds, checked against its manifest. */
async function cat(selector: string, rel: string): Promise<Buffer> {
  const result = await execa('node', [BIN, 'oc', 'snapshot', 'cat', selector, rel], { env: { ...process.env, CLAWBACK_HOME: f.home }, encoding: 'buffer', stripFinalNewline: false, reject: false });
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return Buffer.from(result.stdout);
}

beforeAll(async () => {
  f = await openClawFixture('clawback-restore-path-');
  const live = (rel: string): string => path.join(f.root, rel);
  // v1 three days ago, v2 and v3 after it, each with SOUL.md and one memory day changed.
  const create = async (daysAgo: number): Promise<void> => {
    const made = await clawback(f.home, ['oc', 'snapshot', 'create'], { env: at(daysAgo) });
    expect(made.exitCode, String(made.stderr)).toBe(0);
  };
  await create(3);
  fs.writeFileSync(live(SOUL), '# SOUL\nrewritten by an upgrade (v2)\n');
  fs.appendFileSync(live(DAY_FILE), '\nedited two days ago\n');
  fs.writeFileSync(live('workspace/memory/2026-01-01.md'), '# Notes 2026-01-01\n');
  await create(2);
  fs.writeFileSync(live(SOUL), '# SOUL\nrewritten again (v3)\n');
  fs.writeFileSync(live(DAY_FILE), 'lost most of the day\n');
  fs.writeFileSync(live('workspace/USER.md'), 'changed in v3\n');
  await create(1);
  fs.writeFileSync(live(SOUL), '# SOUL\nbroken today\n');
  fs.writeFileSync(live('workspace/NEW.md'), 'written today, never in a snapshot\n');
  template = path.join(f.dir, 'template');
  await copyTree(f.root, template);
});

afterAll(() => f?.cleanup());

describe('snapshot restore --path', () => {
  it('puts back one persona file and one memory day from three days ago; every other file keeps its bytes and inode', async () => {
    await copyTree(template, f.root);
    const before = state(f.root);
    const beforeInodes = inodes(f.root);
    const listedBefore = json<{ snapshots: unknown[] }>(await f.cli('oc', 'snapshot', 'list', '--json')).snapshots.length;

    const restored = await f.cli('oc', 'snapshot', 'restore', 'v1', '--path', SOUL, '--path', `./${DAY_FILE}`, '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<RestoreDoc>(restored).restore;
    expect(doc.paths.replaced).toEqual([SOUL, DAY_FILE]);
    expect(doc.counts).toMatchObject({ added: 0, removed: 0 });

    expect(fs.readFileSync(path.join(f.root, SOUL))).toEqual(await cat('v1', SOUL));
    expect(fs.readFileSync(path.join(f.root, DAY_FILE))).toEqual(await cat('v1', DAY_FILE));
    expect(fs.readFileSync(path.join(f.root, SOUL), 'utf8')).not.toContain('broken today');
    const after = state(f.root);
    expect(without(after, [SOUL, DAY_FILE])).toEqual(without(before, [SOUL, DAY_FILE]));
    expect(without(inodes(f.root), [SOUL, DAY_FILE])).toEqual(without(beforeInodes, [SOUL, DAY_FILE]));
    // Added since the snapshot, outside the named paths: still there.
    expect(fs.readFileSync(path.join(f.root, 'workspace/NEW.md'), 'utf8')).toBe('written today, never in a snapshot\n');
    expect(fs.existsSync(path.join(f.root, 'workspace/memory/2026-01-01.md'))).toBe(true);

    // The pre-restore snapshot holds what was live, and one command undoes the restore.
    expect(doc.preRestore?.selector).toMatch(/^pre-restore-/);
    const listed = json<{ snapshots: unknown[] }>(await f.cli('oc', 'snapshot', 'list', '--json')).snapshots.length;
    expect(listed).toBe(listedBefore + 1);
    expect((await cat(doc.preRestore!.selector, SOUL)).toString()).toContain('broken today');
    expect(restoreLeftovers(f.root)).toEqual([]);
  });

  it('on a directory makes that directory the snapshot\'s and leaves everything beside it', async () => {
    await copyTree(template, f.root);
    fs.writeFileSync(path.join(f.root, 'workspace/NOTES.md'), 'beside the directory\n');
    const before = state(f.root);
    const beforeInodes = inodes(f.root);
    const memory = (tree: Map<string, unknown>): Map<string, unknown> => new Map([...tree].filter(([rel]) => !rel.startsWith('workspace/memory')));

    const restored = await f.cli('oc', 'snapshot', 'restore', 'v1', '--path', 'workspace/memory/', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<RestoreDoc>(restored).restore;
    expect(doc.paths.replaced).toEqual([DAY_FILE]);
    expect(doc.paths.removed).toEqual(['workspace/memory/2026-01-01.md']);

    const v1Memory = json<{ entries: Array<{ path: string; type: string }> }>(await f.cli('oc', 'snapshot', 'ls', 'v1', 'workspace/memory', '--json')).entries;
    expect(fs.readdirSync(path.join(f.root, 'workspace/memory')).sort()).toEqual(v1Memory.map((e) => path.basename(e.path)).sort());
    for (const e of v1Memory) expect(fs.readFileSync(path.join(f.root, e.path)), e.path).toEqual(await cat('v1', e.path));
    expect(memory(state(f.root))).toEqual(memory(before));
    expect(memory(inodes(f.root))).toEqual(memory(beforeInodes));
  });

  it('with a glob and --agent restores what both select', async () => {
    await copyTree(template, f.root);
    fs.writeFileSync(path.join(f.root, 'workspace-ops/SOUL.md'), 'ops changed\n');
    fs.writeFileSync(path.join(f.root, 'workspace-research/SOUL.md'), 'research changed\n');
    const restored = await f.cli('oc', 'snapshot', 'restore', 'v1', '--path', 'workspace-*/SOUL.md', '--agent', 'ops', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(json<RestoreDoc>(restored).restore.paths.replaced).toEqual(['workspace-ops/SOUL.md']);
    expect(fs.readFileSync(path.join(f.root, 'workspace-ops/SOUL.md'))).toEqual(await cat('v1', 'workspace-ops/SOUL.md'));
    expect(fs.readFileSync(path.join(f.root, 'workspace-research/SOUL.md'), 'utf8')).toBe('research changed\n');
    expect(fs.readFileSync(path.join(f.root, SOUL), 'utf8')).toContain('broken today');
  });

  it('--dry-run shows the plan for the named paths only and changes nothing', async () => {
    await copyTree(template, f.root);
    const before = treeDigest(f.root, { times: true, databasesByContent: true });
    const planned = await f.cli('oc', 'snapshot', 'restore', 'v1', '--path', SOUL, '--dry-run', '--json');
    expect(planned.exitCode, String(planned.stderr)).toBe(0);
    const doc = json<RestoreDoc>(planned).restore;
    expect(doc.paths).toMatchObject({ replaced: [SOUL], added: [], removed: [] });
    expect(treeDigest(f.root, { times: true, databasesByContent: true })).toEqual(before);
  });

  it('a path the snapshot does not hold exits 4 with the nearest one as a hint, and changes nothing', async () => {
    await copyTree(template, f.root);
    const before = treeDigest(f.root, { times: true, databasesByContent: true });
    const typo = await f.cli('oc', 'snapshot', 'restore', 'v1', '--path', 'workspace/SOUL.mdx');
    expect(typo.exitCode).toBe(4);
    expect(String(typo.stderr)).toContain('holds nothing at workspace/SOUL.mdx');
    expect(String(typo.stderr)).toContain('did you mean "workspace/SOUL.md"');
    const bare = await f.cli('oc', 'snapshot', 'restore', 'v1', '--path', 'SOUL.md', '--path', SOUL);
    expect(bare.exitCode).toBe(4);
    expect(String(bare.stderr)).toContain('did you mean "workspace/SOUL.md"');
    // Held by the snapshot, but not by the module asked for: nothing to restore is not a success.
    const outside = await f.cli('oc', 'snapshot', 'restore', 'v1', '--path', SOUL, '--only', 'memory');
    expect(outside.exitCode).toBe(4);
    expect(String(outside.stderr)).toContain('--only/--agent');
    expect(treeDigest(f.root, { times: true, databasesByContent: true })).toEqual(before);
  });

  it('killed in the middle of the swap is rolled back by the next command', async () => {
    await copyTree(template, f.root);
    const before = state(f.root);
    const beforeInodes = inodes(f.root);
    const killed = await f.cliKilledAt('restore:renamed-live-0', 'oc', 'snapshot', 'restore', 'v1', '--path', SOUL);
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    expect(fs.existsSync(f.root)).toBe(false);
    const next = await f.cli('sandbox', 'list');
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(String(next.stderr)).toContain('an interrupted restore of oc was');
    expect(state(f.root)).toEqual(before);
    expect(inodes(f.root)).toEqual(beforeInodes);
    expect(restoreLeftovers(f.root)).toEqual([]);
  });
});

describe('snapshot restore --to-dir', () => {
  interface LsEntry {
    path: string;
    type: string;
    target: string | null;
    strategy: string | null;
  }
  const entriesOf = async (selector: string): Promise<LsEntry[]> => json<{ entries: LsEntry[] }>(await f.cli('oc', 'snapshot', 'ls', selector, '--json')).entries;

  /** DIR holds exactly these entries, each as the bundle holds it (files byte for byte, databases by rows). */
  function expectMaterialised(dir: string, bundleDir: string, entries: readonly LsEntry[]): void {
    const tree = readTree(dir);
    expect([...tree.keys()].sort()).toEqual(entries.map((e) => e.path).sort());
    for (const e of entries) {
      const abs = path.join(dir, e.path);
      const captured = path.join(bundleDir, 'payload', e.path);
      if (e.type === 'dir') expect(tree.get(e.path)?.type, e.path).toBe('dir');
      else if (e.type === 'symlink') expect(fs.readlinkSync(abs), e.path).toBe(e.target);
      else if (e.strategy === 'sqlite_backup') expect(databaseContent(abs), e.path).toEqual(databaseContent(captured));
      else expect(fs.readFileSync(abs), e.path).toEqual(fs.readFileSync(captured));
    }
  }

  interface ToDirDoc {
    restoreToDir: { dir: string; bundle: { dir: string }; databases: string[]; counts: { files: number } };
  }

  it('writes the whole snapshot byte for byte into a new directory, registering nothing and touching no live file', async () => {
    await copyTree(template, f.root);
    // A live config that a restore would merge with (the live gateway wins there): --to-dir takes the captured one.
    const config = path.join(f.root, 'openclaw.json');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(/port: \d+/, 'port: 40404'));
    const live = treeDigest(f.root, { times: true, databasesByContent: true });
    const sandboxes = String((await f.cli('sandbox', 'list', '--json')).stdout);
    const snapshots = json<{ snapshots: unknown[] }>(await f.cli('oc', 'snapshot', 'list', '--json')).snapshots.length;
    const dir = path.join(f.dir, 'out', 'whole');

    const written = await f.cli('oc', 'snapshot', 'restore', 'v1', '--to-dir', dir, '--json');
    expect(written.exitCode, String(written.stderr)).toBe(0);
    const doc = json<ToDirDoc>(written).restoreToDir;
    expect(doc.dir).toBe(dir);
    expect(doc.databases).toContain('memory/main.sqlite');
    const entries = await entriesOf('v1');
    expectMaterialised(dir, doc.bundle.dir, entries);
    expect(doc.counts.files).toBe(entries.filter((e) => e.type === 'file').length);
    // The config comes back as captured, not merged with the live one.
    expect(fs.readFileSync(config, 'utf8')).toContain('40404');
    expect(fs.readFileSync(path.join(dir, 'openclaw.json'))).toEqual(await cat('v1', 'openclaw.json'));

    expect(treeDigest(f.root, { times: true, databasesByContent: true })).toEqual(live);
    expect(String((await f.cli('sandbox', 'list', '--json')).stdout)).toBe(sandboxes);
    expect(json<{ snapshots: unknown[] }>(await f.cli('oc', 'snapshot', 'list', '--json')).snapshots.length).toBe(snapshots);
    expect(fs.readFileSync(path.join(dir, SOUL))).toEqual(await cat('v1', SOUL));
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['whole']);
  });

  it('writes only the --path and --only selection into an empty directory', async () => {
    const dir = path.join(f.dir, 'out', 'part');
    fs.mkdirSync(dir, { recursive: true });
    const args = ['oc', 'snapshot', 'restore', 'v1', '--to-dir', dir, '--path', 'workspace/memory', 'memory', SOUL, '--only', 'workspaces,memory'];
    const written = await f.cli(...args);
    expect(written.exitCode, String(written.stderr)).toBe(0);
    expect(String(written.stdout)).toContain('nothing was registered');
    const bundleDir = json<ToDirDoc>(await f.cli(...args.slice(0, 5), path.join(f.dir, 'out', 'again'), ...args.slice(6), '--json')).restoreToDir.bundle.dir;
    const entries = (await entriesOf('v1')).filter((e) => e.path.startsWith('workspace/memory/') || e.path.startsWith('memory/') || e.path === SOUL);
    // The ancestors the selection needs are directories too.
    expectMaterialised(dir, bundleDir, [...entries, { path: 'workspace', type: 'dir', target: null, strategy: null }, { path: 'workspace/memory', type: 'dir', target: null, strategy: null }, { path: 'memory', type: 'dir', target: null, strategy: null }]);
    expect(Object.keys(databaseContent(path.join(dir, 'memory/main.sqlite'))).length).toBeGreaterThan(0);
  });

  it('refuses a directory that is not empty (exit 5), leaving it and its neighbours as they were', async () => {
    const dir = path.join(f.dir, 'out', 'busy');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'mine.txt'), 'mine\n');
    const refused = await f.cli('oc', 'snapshot', 'restore', 'v1', '--to-dir', dir);
    expect(refused.exitCode).toBe(5);
    expect(String(refused.stderr)).toContain('is not empty');
    expect(fs.readdirSync(dir)).toEqual(['mine.txt']);
    expect(fs.readdirSync(path.dirname(dir)).filter((n) => n.includes('.partial-'))).toEqual([]);
    const clash = await f.cli('oc', 'snapshot', 'restore', 'v1', '--to-dir', path.join(f.dir, 'out', 'never'), '--to', 'other');
    expect(clash.exitCode).toBe(2);
  });
});

describe('snapshot restore --to-dir from a bundle NemoClaw wrote', () => {
  it('writes its files and databases as captured, and changes neither the bundle nor the live home', async () => {
    const base = tempDir('clawback-to-dir-nemoclaw-');
    try {
      const home = path.join(base, '.nemoclaw');
      const root = path.join(base, '.hermes');
      fs.mkdirSync(root, { recursive: true });
      fs.writeFileSync(path.join(root, 'SOUL.md'), 'live\n');
      const cli = (...args: string[]): ReturnType<typeof clawback> => clawback(home, args);
      expect((await cli('sandbox', 'add', 'box', '--agent', 'hermes', '--root', root)).exitCode).toBe(0);
      const bundle = writeNemoClawBundle(home, { sandbox: 'box', agent: 'hermes' });
      const untouched = readTree(bundle.dir, { times: true, withRoot: true });

      const whole = path.join(base, 'out');
      const written = await cli('box', 'snapshot', 'restore', 'v1', '--to-dir', whole);
      expect(written.exitCode, String(written.stderr)).toBe(0);
      const files = [...readTree(whole)].filter(([, item]) => item.type === 'file').map(([rel]) => rel);
      expect(files.sort()).toEqual([...bundle.files.keys()].sort());
      for (const [rel, bytes] of bundle.files) {
        if (bundle.rows.has(rel)) expect(databaseContent(path.join(whole, rel)).notes!.map((r) => (r as { body: string }).body), rel).toEqual(bundle.rows.get(rel));
        else expect(fs.readFileSync(path.join(whole, rel)), rel).toEqual(bytes);
      }

      const part = path.join(base, 'part');
      const one = await cli('box', 'snapshot', 'restore', 'v1', '--to-dir', part, '--path', 'SOUL.md', '--json');
      expect(one.exitCode, String(one.stderr)).toBe(0);
      expect(json<{ restoreToDir: { paths: string[] } }>(one).restoreToDir.paths).toEqual(['SOUL.md']);
      expect(fs.readdirSync(part)).toEqual(['SOUL.md']);
      expect(fs.readFileSync(path.join(part, 'SOUL.md'))).toEqual(bundle.files.get('SOUL.md'));

      expect(readTree(bundle.dir, { times: true, withRoot: true })).toEqual(untouched);
      expect(fs.readFileSync(path.join(root, 'SOUL.md'), 'utf8')).toBe('live\n');
      expect(fs.readdirSync(root)).toEqual(['SOUL.md']);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
