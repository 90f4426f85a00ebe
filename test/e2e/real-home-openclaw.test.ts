import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import JSON5 from 'json5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { writeDatabaseRow } from '../helpers/sqlite.js';
import { readTree } from '../helpers/tree.js';
import { manifestJson } from '../helpers/bundles.js';

/**
 * Issue 11, "Must show": a real-layout OpenClaw home (JSON5 config with $include, state/ and per-agent
 * SQLite, pnpm hard links, plugin-skills/ absolute links the agent manages) snapshots, records its
 * managed links as links, and restores byte-exact.
 */

interface Entry {
  path: string;
  type: string;
  target?: string;
  strategy?: string;
}
interface Manifest {
  entries: Entry[];
}
interface CreateDoc {
  snapshot: { dir: string; timestamp: string };
}

let base: string;
let home: string;
let h: GeneratedHome;
let snapshotDir: string;
let manifest: Manifest;
const cli = (...args: string[]) => clawback(home, args);

/** Config files a merge may rewrite (comments may go): compared by meaning, not bytes. */
const CONFIG = new Set(['openclaw.json', 'openclaw.json.last-good', '.config-hash']);
const under = (rel: string, dirs: string[]): boolean => dirs.some((d) => rel === d || rel.startsWith(`${d}/`));
/** What a restore must bring back exactly: everything but what is never captured. */
const restoredTree = (): ReturnType<typeof readTree> =>
  readTree(h.root, { databasesByContent: true, skip: (rel) => CONFIG.has(rel) || under(rel, [...h.expect.excluded, ...h.expect.machineLocal]) });
const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeAll(async () => {
  base = tempDir('clawback-real-openclaw-');
  home = path.join(base, 'home');
  h = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') });
  const added = await cli('sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', h.root);
  expect(added.exitCode, String(added.stderr)).toBe(0);
  const created = await cli('oc', 'snapshot', 'create', '--name', 'real', '--json');
  expect(created.exitCode, String(created.stderr)).toBe(0);
  snapshotDir = json<CreateDoc>(created).snapshot.dir;
  manifest = manifestJson(snapshotDir) as unknown as Manifest;
}, 60_000);

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('a real-layout OpenClaw home', () => {
  it('records every plugin-skills/ link as a link with its absolute target, and follows none', () => {
    expect(h.expect.managedLinks.length).toBeGreaterThan(1);
    for (const link of h.expect.managedLinks) {
      expect(manifest.entries.find((e) => e.path === link.path)).toMatchObject({ type: 'symlink', target: link.target });
      expect(manifest.entries.some((e) => e.path.startsWith(`${link.path}/`))).toBe(false);
      expect(fs.lstatSync(path.join(snapshotDir, 'payload', link.path)).isSymbolicLink()).toBe(true);
    }
  });

  it('captures what OpenClaw keeps, every database through the backup API, and none of what it regenerates', () => {
    const paths = new Set(manifest.entries.map((e) => e.path));
    for (const rel of h.expect.captured) expect(paths.has(rel), rel).toBe(true);
    for (const db of h.databases) {
      const rel = path.relative(h.root, db);
      expect(manifest.entries.find((e) => e.path === rel)?.strategy, rel).toBe('sqlite_backup');
    }
    for (const rel of [...h.expect.excluded, ...h.expect.machineLocal]) {
      expect([...paths].filter((p) => p === rel || p.startsWith(`${rel}/`)), rel).toEqual([]);
    }
  });

  it('restores the home byte-exact: files, modes, links, database rows', async () => {
    const before = restoredTree();
    const configBefore = JSON5.parse<unknown>(fs.readFileSync(path.join(h.root, 'openclaw.json'), 'utf8'));
    // The agent moves on: notes change and go, a plugin skill link is dropped and another retargeted, rows are written.
    fs.appendFileSync(path.join(h.root, 'workspace', 'SOUL.md'), '\nchanged\n');
    fs.rmSync(path.join(h.root, 'workspace-research', 'IDENTITY.md'));
    const [first, second] = h.expect.managedLinks;
    fs.rmSync(path.join(h.root, first!.path));
    fs.rmSync(path.join(h.root, second!.path));
    fs.symlinkSync(path.join(h.root, 'skills'), path.join(h.root, second!.path));
    for (const db of h.databases) writeDatabaseRow(db);
    expect(restoredTree()).not.toEqual(before);

    const restored = await cli('oc', 'snapshot', 'restore', 'real', '--yes', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(restoredTree()).toEqual(before);
    for (const link of h.expect.managedLinks) expect(fs.readlinkSync(path.join(h.root, link.path))).toBe(link.target);
    expect(JSON5.parse<unknown>(fs.readFileSync(path.join(h.root, 'openclaw.json'), 'utf8'))).toEqual(configBefore);
  }, 60_000);

  it('leaves openclaw.json, openclaw.json.last-good and .config-hash consistent after a merged restore', async () => {
    const config = path.join(h.root, 'openclaw.json');
    // The user changes the UI theme after the snapshot; the restore merges the config.
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace("theme: 'dark'", "theme: 'light'"));
    const restored = await cli('oc', 'snapshot', 'restore', 'real', '--yes', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const text = fs.readFileSync(config, 'utf8');
    expect(() => JSON5.parse(text)).not.toThrow();
    expect(fs.readFileSync(path.join(h.root, '.config-hash'), 'utf8')).toBe(`${sha256(config)}  openclaw.json\n`);
    expect(JSON5.parse<unknown>(fs.readFileSync(path.join(h.root, 'openclaw.json.last-good'), 'utf8'))).toEqual(JSON5.parse<unknown>(text));
  }, 60_000);
});
