import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { directoryBytes, resticSnapshots, setUpPush, tagValue } from '../helpers/restic.js';
import { treeDigest } from '../helpers/tree.js';

/**
 * The medium OpenClaw home pushed three times to a local restic repository (the second and third
 * after small changes), then pulled into an empty home on a "new machine" and restored there.
 */
interface Pushed {
  timestamp: string;
  status: string;
  snapshotId: string;
}
interface PushDoc {
  bundles: Pushed[];
  pushed: number;
  present: number;
}

let base: string;
let root: string;
let homeA: string;
let repo: string;
let passwordFile: string;
let env: Record<string, string>;
const growth: number[] = [];
const timestamps: string[] = [];

async function ok(home: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const result = await clawback(home, args, { env: { ...env, ...extraEnv } });
  expect(result.exitCode, `${args.join(' ')}: ${String(result.stderr)}`).toBe(0);
  return String(result.stdout);
}

async function snapshotAndPush(label?: string): Promise<void> {
  await ok(homeA, ['oc', 'snapshot', 'create', '-q', ...(label ? ['--name', label] : [])]);
  const before = directoryBytes(repo);
  const doc = JSON.parse(await ok(homeA, ['oc', 'snapshot', 'push', '--repo', 'r', '--json'])) as PushDoc;
  expect(doc.pushed).toBe(1);
  timestamps.push(doc.bundles[0]!.timestamp);
  growth.push(directoryBytes(repo) - before);
}

beforeAll(async () => {
  base = tempDir('clawback-offsite-');
  env = { RESTIC_CACHE_DIR: path.join(base, 'restic-cache') };
  homeA = path.join(base, 'home-a');
  ({ root, repo, passwordFile } = await setUpPush(base, (args) => ok(homeA, args), { scale: 'medium', password: 'correct horse battery staple' }));
  await snapshotAndPush('first');
  fs.appendFileSync(path.join(root, 'workspace', 'SOUL.md'), '\nA small change before the second push.\n');
  await snapshotAndPush();
  fs.appendFileSync(path.join(root, 'workspace', 'MEMORY.md'), '\n- learned one more thing\n');
  const database = path.join(root, 'agents', 'finance', 'agent', 'openclaw-agent.sqlite');
  execFileSync('sqlite3', [database, 'DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages LIMIT 3);']);
  await snapshotAndPush();
}, 180_000);

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
}, 180_000);

describe('push to a local restic repository', () => {
  it('the second and third pushes grow the repository by at most 2 % of the first', () => {
    const [first, second, third] = growth as [number, number, number];
    console.info(`repository growth: first ${first} B, second ${second} B (${((100 * second) / first).toFixed(2)} %), third ${third} B (${((100 * third) / first).toFixed(2)} %)`);
    expect(first).toBeGreaterThan(1_000_000);
    expect(second).toBeLessThanOrEqual(first * 0.02);
    expect(third).toBeLessThanOrEqual(first * 0.02);
  });

  it('each bundle is one restic snapshot with relative paths, tagged clawback, sandbox, bundle and label, from this host', () => {
    const snapshots = resticSnapshots(repo, passwordFile, env);
    expect(snapshots.map((s) => tagValue(s, 'bundle')).sort()).toEqual([...timestamps].sort());
    for (const s of snapshots) {
      expect(s.tags).toContain('clawback');
      expect(tagValue(s, 'sandbox')).toBe('oc');
    }
    expect(snapshots.filter((s) => tagValue(s, 'label') === 'first').map((s) => tagValue(s, 'bundle'))).toEqual([timestamps[0]]);
    const listing = execFileSync('restic', ['ls', snapshots[0]!.id], { env: { ...process.env, ...env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile }, encoding: 'utf8' });
    expect(listing.split('\n')).toContain('/rebuild-manifest.json');
    expect(listing.split('\n')).toContain('/payload/workspace/SOUL.md');
  });

  it('--missing pushes only what the repository does not hold; a pushed bundle is never sent twice', async () => {
    const again = JSON.parse(await ok(homeA, ['oc', 'snapshot', 'push', '--repo', 'r', '--missing', '--json'])) as PushDoc;
    expect(again).toMatchObject({ pushed: 0, present: 3 });
    const count = resticSnapshots(repo, passwordFile, env).length;
    const latest = JSON.parse(await ok(homeA, ['oc', 'snapshot', 'push', '--repo', 'r', '--json'])) as PushDoc;
    expect(latest.bundles.map((b) => b.status)).toEqual(['present']);
    expect(resticSnapshots(repo, passwordFile, env)).toHaveLength(count);
  });
});

describe('a new machine with only the repository and its password', () => {
  let homeB: string;
  let newRoot: string;

  beforeAll(async () => {
    homeB = path.join(base, 'home-b');
    newRoot = path.join(base, 'new-machine', 'oc');
    // The password file from the environment: `repo add` stores where it is, never the password.
    await ok(homeB, ['repo', 'add', 'r', repo], { RESTIC_PASSWORD_FILE: passwordFile });
    await ok(homeB, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', newRoot]);
  }, 120_000);

  it('lists the repository\'s snapshots with a remote mark, none of them here yet', async () => {
    const doc = JSON.parse(await ok(homeB, ['oc', 'snapshot', 'list', '--repo', 'r', '--json'])) as { snapshots: Array<{ timestamp: string; remote: boolean; local: boolean; name: string | null }> };
    expect(doc.snapshots.map((s) => s.timestamp)).toEqual(timestamps);
    expect(doc.snapshots.every((s) => s.remote && !s.local)).toBe(true);
    expect(doc.snapshots[0]!.name).toBe('first');
    expect(fs.readFileSync(path.join(homeB, 'repos.json'), 'utf8')).not.toContain('correct horse');
  });

  it('restore --repo pulls the latest and restores it: the tree byte for byte, SQLite by content', async () => {
    await ok(homeB, ['oc', 'snapshot', 'restore', '--repo', 'r', '--yes']);
    const pulled = path.join(homeB, 'rebuild-backups', 'oc', timestamps[2]!);
    expect(fs.existsSync(path.join(pulled, 'rebuild-manifest.json'))).toBe(true);
    const captured = new Set(Object.keys(treeDigest(path.join(homeA, 'rebuild-backups', 'oc', timestamps[2]!, 'payload'))));
    const expected = Object.fromEntries(Object.entries(treeDigest(root, { databasesByContent: true })).filter(([rel]) => captured.has(rel)));
    expect(Object.keys(expected).length).toBeGreaterThan(1000);
    expect(treeDigest(newRoot, { databasesByContent: true })).toEqual(expected);
  });

  it('the pulled bundle is a normal one: listed, verified; pulling it again is refused', async () => {
    const list = json<{ snapshots: Array<{ timestamp: string; state: string }> }>(await clawback(homeB, ['oc', 'snapshot', 'list', '--json'], { env }));
    expect(list.snapshots.filter((s) => s.state === 'complete').map((s) => s.timestamp)).toContain(timestamps[2]);
    await ok(homeB, ['oc', 'snapshot', 'verify', timestamps[2]!]);
    const again = await clawback(homeB, ['oc', 'snapshot', 'pull', timestamps[2]!, '--repo', 'r'], { env });
    expect(again.exitCode).toBe(5);
    expect(String(again.stderr)).toContain('already has snapshot');
  });
});

describe('errors', () => {
  it('a wrong password is exit 6, a missing repository 4, and neither shows the password', async () => {
    const wrong = path.join(base, 'wrong-password');
    fs.writeFileSync(wrong, 'not the password\n');
    await ok(homeA, ['repo', 'add', 'bad', repo, '--password-file', wrong]);
    const denied = await clawback(homeA, ['oc', 'snapshot', 'list', '--repo', 'bad', '--json'], { env });
    expect(denied.exitCode).toBe(6);
    expect(JSON.parse(String(denied.stderr))).toMatchObject({ code: 'repo-wrong-password', exitCode: 6 });
    expect(String(denied.stderr)).not.toContain('not the password');
    await ok(homeA, ['repo', 'add', 'gone', path.join(base, 'no-repo-here'), '--password-file', passwordFile]);
    const missing = await clawback(homeA, ['oc', 'snapshot', 'push', '--repo', 'gone'], { env });
    expect(missing.exitCode).toBe(4);
    expect(String(missing.stderr)).toMatch(/no restic repository at .*no-repo-here/);
    expect(String(missing.stderr)).toContain('clawback repo init gone');
  });

  it('restic missing from PATH is exit 4 with the install hint', async () => {
    const bin = path.join(base, 'bin-without-restic');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const result = await clawback(homeA, ['oc', 'snapshot', 'push', '--repo', 'r'], { env: { ...env, PATH: bin } });
    expect(result.exitCode).toBe(4);
    expect(String(result.stderr)).toContain('restic is not installed');
    expect(String(result.stderr)).toContain('apt install restic');
  });
});
