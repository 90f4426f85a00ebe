import fs from 'node:fs';
import JSON5 from 'json5';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleIds, flipByte, payloadPath } from '../helpers/bundles.js';
import { json } from '../helpers/cli.js';
import { openClawFixture, restoreLeftovers, type RestoreFixture } from '../helpers/restore.js';
import { databaseContent, writeDatabaseRow } from '../helpers/sqlite.js';
import { treeDigest } from '../helpers/tree.js';

/** What an OpenClaw restore never touches: excluded caches, logs, tmp, extensions' node_modules and OpenClaw's .clobbered leftovers, machine-local identity. */
const UNTOUCHED = /^(browser|logs|tmp|identity|devices|extensions\/[^/]+\/node_modules)(\/|$)|\.clobbered\./;
const untouched = (rel: string): boolean => !UNTOUCHED.test(rel);
const captured = (rel: string): boolean => UNTOUCHED.test(rel);

let fixture: RestoreFixture | undefined;

afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

interface RestoreDoc {
  restore: {
    counts: Record<string, number>;
    paths: Record<string, string[]>;
    keptReasons: Record<string, number>;
    preRestore: { selector: string; undo: string } | null;
    databases: string[];
    registered: boolean;
    policy: { presetsAdded: string[]; presetsRemoved: string[]; changed: boolean };
    restart: string | null;
  };
}

async function snapshot(f: RestoreFixture, ...extra: string[]): Promise<void> {
  const created = await f.cli('oc', 'snapshot', 'create', ...extra);
  expect(created.exitCode, String(created.stderr)).toBe(0);
}

/** Changes, deletions, additions, a mode change, a retargeted link and a DB write; plus edits where restore must not reach. */
function mutate(root: string, db: string): void {
  fs.writeFileSync(path.join(root, 'workspace/SOUL.md'), 'rewritten by a bad upgrade\n');
  fs.chmodSync(path.join(root, 'workspace/AGENTS.md'), 0o600);
  fs.rmSync(path.join(root, 'workspace/USER.md'));
  fs.rmSync(path.join(root, 'workspace/current-notes'));
  fs.symlinkSync('memory/2025-12-26.md', path.join(root, 'workspace/current-notes'));
  fs.rmSync(path.join(root, 'workspace/skills'), { recursive: true });
  fs.writeFileSync(path.join(root, 'workspace/NEW.md'), 'added after the snapshot\n');
  fs.mkdirSync(path.join(root, 'workspace/new-dir'));
  fs.writeFileSync(path.join(root, 'workspace/new-dir/note.md'), 'also new\n');
  writeDatabaseRow(db);
  fs.appendFileSync(path.join(root, 'logs/gateway.log'), 'a log line written after the snapshot\n');
  fs.writeFileSync(path.join(root, 'identity/device.json'), '{"deviceId":"this-machine"}\n');
  fs.writeFileSync(path.join(root, 'browser/Local State'), '{"changed":true}\n');
}

describe('snapshot restore', () => {
  it('puts back changed, deleted and added files and the database; leaves excluded and machine-local paths alone', async () => {
    const f = (fixture = await openClawFixture());
    const db = f.databases.find((d) => d.endsWith(path.join('memory', 'main.sqlite')))!;
    const snapshotTree = treeDigest(f.root, { skip: captured, databasesByContent: true });
    const snapshotDb = databaseContent(db);
    await snapshot(f);
    mutate(f.root, db);
    const mutatedTree = treeDigest(f.root, { databasesByContent: true });
    const mutatedUntouched = treeDigest(f.root, { skip: untouched });
    expect(databaseContent(db)).not.toEqual(snapshotDb);

    const dry = await f.cli('oc', 'snapshot', 'restore', '--dry-run', '--json');
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const plan = json<RestoreDoc>(dry);
    const dbs = new Set(f.databases.map((d) => path.relative(f.root, d)));
    // A database and its -wal/-shm, which go with the live content it replaces.
    const notDb = (paths: string[]): string[] => paths.filter((p) => !dbs.has(p.replace(/-(wal|shm)$/, '')));
    expect(notDb(plan.restore.paths.replaced!)).toEqual(['workspace/AGENTS.md', 'workspace/SOUL.md', 'workspace/current-notes']);
    expect(plan.restore.paths.replaced).toContain('memory/main.sqlite');
    expect(plan.restore.paths.added!.filter((p) => !p.startsWith('workspace/skills/'))).toEqual(['workspace/USER.md']);
    expect(plan.restore.paths.added!.length).toBeGreaterThan(1);
    expect(notDb(plan.restore.paths.removed!)).toEqual(['workspace/NEW.md', 'workspace/new-dir/note.md']);
    // 32 in browser/, 1 each in logs/ and tmp/, 15 in each of the two extensions' pnpm node_modules/ (regenerable,
    // never captured), and OpenClaw's openclaw.json.clobbered.* leftover.
    expect(plan.restore.keptReasons).toEqual({ excluded: 65, machine_local: 2 });
    expect(treeDigest(f.root, { databasesByContent: true })).toEqual(mutatedTree);

    const restored = await f.cli('oc', 'snapshot', 'restore', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<RestoreDoc>(restored);
    expect(doc.restore.databases).toEqual([...dbs].sort());
    expect(doc.restore.preRestore?.selector).toMatch(/^pre-restore-\d{4}-\d{2}-\d{2}T[\d-]+Z$/);
    expect(doc.restore.preRestore?.undo).toBe(`clawback oc snapshot restore ${doc.restore.preRestore?.selector}`);
    expect(doc.restore.restart).toMatch(/OpenClaw gateway/);

    expect(treeDigest(f.root, { skip: captured, databasesByContent: true })).toEqual(snapshotTree);
    expect(databaseContent(db)).toEqual(snapshotDb);
    expect(fs.readFileSync(path.join(f.root, 'workspace/SOUL.md'), 'utf8')).not.toContain('bad upgrade');
    expect(fs.readlinkSync(path.join(f.root, 'workspace/current-notes'))).toBe('memory/2025-12-31.md');
    expect(fs.statSync(path.join(f.root, 'workspace/AGENTS.md')).mode & 0o777).toBe(0o644);
    expect(treeDigest(f.root, { skip: untouched })).toEqual(mutatedUntouched);
    expect(fs.readFileSync(path.join(f.root, 'identity/device.json'), 'utf8')).toBe('{"deviceId":"this-machine"}\n');
    expect(restoreLeftovers(f.root)).toEqual([]);
    expect(fs.existsSync(path.join(f.home, 'journal', 'oc.json'))).toBe(false);

    // The printed undo command brings the pre-restore state back.
    const undo = await f.cli('oc', 'snapshot', 'restore', doc.restore.preRestore!.selector, '--no-pre-restore', '--yes');
    expect(undo.exitCode, String(undo.stderr)).toBe(0);
    expect(treeDigest(f.root, { databasesByContent: true })).toEqual(mutatedTree);
  });

  it('refuses a bundle with one flipped byte (exit 6) and leaves live state and the bundle list as they were', async () => {
    const f = (fixture = await openClawFixture());
    await snapshot(f);
    // Changed live, so the restore must write the bundle's copy (a live file that still hashes to the manifest is linked instead).
    fs.writeFileSync(path.join(f.root, 'workspace/MEMORY.md'), 'changed\n');
    const [latest] = bundleIds(f.home, 'oc');
    flipByte(payloadPath(f.home, 'oc', latest!, 'workspace/MEMORY.md'), 10);
    const before = treeDigest(f.root);
    const bundles = bundleIds(f.home, 'oc').length;

    const result = await f.cli('oc', 'snapshot', 'restore', '--json');
    expect(result.exitCode).toBe(6);
    const error = JSON.parse(String(result.stderr).trim().split('\n').at(-1)!) as { code: string; message: string };
    expect(error.code).toBe('checksum-mismatch');
    expect(error.message).toContain('workspace/MEMORY.md');
    expect(treeDigest(f.root)).toEqual(before);
    expect(bundleIds(f.home, 'oc').length).toBe(bundles);
    expect(restoreLeftovers(f.root)).toEqual([]);
    expect(fs.existsSync(path.join(f.home, 'journal', 'oc.json'))).toBe(false);
  });

  it('stops before the swap when the live config does not parse, naming the file', async () => {
    const f = (fixture = await openClawFixture());
    await snapshot(f);
    fs.writeFileSync(path.join(f.root, 'workspace/SOUL.md'), 'changed\n');
    fs.writeFileSync(path.join(f.root, 'openclaw.json'), '{ "gateway": { "port": 1, }\n');
    const before = treeDigest(f.root);

    const result = await f.cli('oc', 'snapshot', 'restore');
    expect(result.exitCode).toBe(6);
    expect(String(result.stderr)).toContain('openclaw.json');
    expect(treeDigest(f.root)).toEqual(before);
    expect(restoreLeftovers(f.root)).toEqual([]);
  });

  it('merges openclaw.json: the live gateway stays, the snapshot wins for user settings', async () => {
    const f = (fixture = await openClawFixture());
    await snapshot(f);
    const file = path.join(f.root, 'openclaw.json');
    const config = JSON5.parse(fs.readFileSync(file, 'utf8')) as { gateway: { port: number }; ui: { theme: string } };
    config.gateway.port = 19999;
    config.ui.theme = 'light';
    fs.writeFileSync(file, JSON.stringify(config, null, 2));

    const result = await f.cli('oc', 'snapshot', 'restore', '--no-pre-restore', '--yes');
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const merged = JSON5.parse(fs.readFileSync(file, 'utf8')) as typeof config;
    expect(merged.gateway.port).toBe(19999);
    expect(merged.ui.theme).toBe('dark');
  });

  it('--only restores one module and leaves every other path byte-identical', async () => {
    const f = (fixture = await openClawFixture());
    await snapshot(f);
    const sessions = path.join(f.root, 'agents/main/sessions');
    const session = path.join(sessions, fs.readdirSync(sessions).filter((n) => n.endsWith('.jsonl')).sort()[0]!);
    fs.appendFileSync(session, '{"role":"user","content":"after the snapshot"}\n');
    fs.writeFileSync(path.join(f.root, 'workspace/SOUL.md'), 'changed\n');
    fs.writeFileSync(path.join(f.root, 'workspace/NEW.md'), 'new\n');
    fs.writeFileSync(path.join(f.root, 'canvas/index.html'), '<p>new canvas</p>\n');
    const outsideWorkspaces = (rel: string): boolean => rel === 'workspace' || rel.startsWith('workspace/');
    const before = treeDigest(f.root, { skip: outsideWorkspaces });

    const result = await f.cli('oc', 'snapshot', 'restore', '--only', 'workspaces', '--json');
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const doc = json<RestoreDoc>(result);
    expect(doc.restore.paths.replaced).toEqual(['workspace/SOUL.md']);
    expect(doc.restore.paths.removed).toEqual(['workspace/NEW.md']);
    expect(treeDigest(f.root, { skip: outsideWorkspaces })).toEqual(before);
    expect(fs.readFileSync(session, 'utf8')).toContain('after the snapshot');
    expect(fs.readFileSync(path.join(f.root, 'workspace/SOUL.md'), 'utf8')).not.toBe('changed\n');
    expect(fs.existsSync(path.join(f.root, 'workspace/NEW.md'))).toBe(false);
  });

  it('--to a new name registers it; an existing one needs --force, and confirmation without a TTY', async () => {
    const f = (fixture = await openClawFixture());
    const registry = path.join(f.home, 'sandboxes.json');
    const doc = JSON.parse(fs.readFileSync(registry, 'utf8')) as { sandboxes: Record<string, { policyPresets: string[] }> };
    doc.sandboxes.oc!.policyPresets = ['npm'];
    fs.writeFileSync(registry, JSON.stringify(doc));
    await snapshot(f);
    const expected = treeDigest(f.root, { skip: captured, databasesByContent: true });

    const fresh = await f.cli('oc', 'snapshot', 'restore', '--to', 'copy', '--json');
    expect(fresh.exitCode, String(fresh.stderr)).toBe(0);
    expect(json<RestoreDoc>(fresh).restore.registered).toBe(true);
    const copyRoot = path.join(f.home, 'sandboxes', 'copy');
    expect(treeDigest(copyRoot, { databasesByContent: true })).toEqual(expected);
    const shown = await f.cli('sandbox', 'show', 'copy', '--json');
    const entry = json<{ sandbox: { agent: string; root: string; policyPresets: string[] } }>(shown).sandbox;
    expect(entry).toMatchObject({ agent: 'openclaw', root: copyRoot, policyPresets: ['npm'] });

    const otherRoot = path.join(f.dir, 'other');
    fs.mkdirSync(otherRoot);
    fs.writeFileSync(path.join(otherRoot, 'keep-me.md'), 'the other sandbox\n');
    expect((await f.cli('sandbox', 'add', 'other', '--agent', 'openclaw', '--root', otherRoot)).exitCode).toBe(0);
    const otherBefore = treeDigest(otherRoot);

    const refused = await f.cli('oc', 'snapshot', 'restore', '--to', 'other');
    expect(refused.exitCode).toBe(5);
    expect(String(refused.stderr)).toContain('--force');
    const unconfirmed = await f.cli('oc', 'snapshot', 'restore', '--to', 'other', '--force', '--json');
    expect(unconfirmed.exitCode).toBe(5);
    expect(JSON.parse(String(unconfirmed.stderr).trim()) as { code: string; hint: string }).toMatchObject({ code: 'confirmation-missing', hint: 'pass --yes' });
    expect(treeDigest(otherRoot)).toEqual(otherBefore);

    const forced = await f.cli('oc', 'snapshot', 'restore', '--to', 'other', '--force', '--yes', '--json');
    expect(forced.exitCode, String(forced.stderr)).toBe(0);
    const forcedDoc = json<RestoreDoc>(forced);
    expect(forcedDoc.restore.policy).toMatchObject({ presetsAdded: ['npm'], presetsRemoved: [], changed: true });
    expect(forcedDoc.restore.preRestore).not.toBeNull();
    // keep-me.md is in scope (module "other") and not in the snapshot: removed, but kept in the pre-restore snapshot.
    expect(treeDigest(otherRoot, { databasesByContent: true })).toEqual(expected);
    expect(bundleIds(f.home, 'other')).toHaveLength(1);
  });

  it('--to a new name with a non-empty --root is refused without --force', async () => {
    const f = (fixture = await openClawFixture());
    await snapshot(f);
    const root = path.join(f.dir, 'occupied');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'precious.txt'), 'x');
    const result = await f.cli('oc', 'snapshot', 'restore', '--to', 'occupied', '--root', root);
    expect(result.exitCode).toBe(5);
    expect(String(result.stderr)).toContain('not empty');
    expect(fs.readdirSync(root)).toEqual(['precious.txt']);
    const list = await f.cli('sandbox', 'list', '--json');
    expect(json<{ sandboxes: Array<{ name: string }> }>(list).sandboxes.map((s) => s.name)).toEqual(['oc']);
  });
});

describe('snapshot restore of a damaged database copy', () => {
  it('exits 6 naming the database, whether SQLite notices or not, and leaves live state alone', async () => {
    const f = (fixture = await openClawFixture());
    await snapshot(f);
    fs.writeFileSync(path.join(f.root, 'workspace/SOUL.md'), 'changed\n');
    const before = treeDigest(f.root);
    const [latest] = bundleIds(f.home, 'oc');
    const copy = payloadPath(f.home, 'oc', latest!, 'memory/main.sqlite');
    // A byte near the end: inside a page, so SQLite may read the file without complaint.
    flipByte(copy, fs.statSync(copy).size - 100);
    const quiet = await f.cli('oc', 'snapshot', 'restore', '--json');
    expect(quiet.exitCode).toBe(6);
    expect(String(quiet.stderr)).toContain('memory/main.sqlite');
    // The header: SQLite refuses to open it at all.
    flipByte(copy, 0);
    const loud = await f.cli('oc', 'snapshot', 'restore', '--json');
    expect(loud.exitCode).toBe(6);
    expect(String(loud.stderr)).toContain('memory/main.sqlite');
    expect(treeDigest(f.root)).toEqual(before);
    expect(restoreLeftovers(f.root)).toEqual([]);
  });
});
