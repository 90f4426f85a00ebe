import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawback, tempDir } from '../helpers/cli.js';
import { resticSnapshots, setUpPush, tagValue } from '../helpers/restic.js';

/**
 * Push hashes only the files restic will read: a file linked to the parent bundle's (the one whose
 * snapshot restic compares with) is taken unread from the parent's snapshot, whose bytes were checked
 * when it was pushed. The small OpenClaw home, pushed into a local restic repository.
 */
interface PushDoc {
  bundles: Array<{ timestamp: string; status: string; snapshotId: string; filesNew: number; filesChanged: number; filesUnmodified: number }>;
  pushed: number;
}

const FILE = 'workspace/SOUL.md';
let base: string;
let root: string;
let home: string;
let repo: string;
let passwordFile: string;
let env: Record<string, string>;

async function ok(args: string[]): Promise<string> {
  const result = await clawback(home, args, { env });
  expect(result.exitCode, `${args.join(' ')}: ${String(result.stderr)}`).toBe(0);
  return String(result.stdout);
}

/** Takes a snapshot; gives its timestamp. */
async function snapshot(): Promise<string> {
  const doc = JSON.parse(await ok(['oc', 'snapshot', 'create', '--json'])) as { snapshot: { timestamp: string } };
  return doc.snapshot.timestamp;
}

async function push(timestamp: string): Promise<PushDoc> {
  return JSON.parse(await ok(['oc', 'snapshot', 'push', timestamp, '--repo', 'r', '--json'])) as PushDoc;
}

function payloadFile(timestamp: string, rel = FILE): string {
  return path.join(home, 'rebuild-backups', 'oc', timestamp, 'payload', rel);
}

/**
 * Overwrites a bundle file in place with other bytes of the same size. `exactTime` puts its mtime back
 * to the nanosecond (as bit rot leaves it: nothing lstat shows); otherwise to the millisecond, as
 * most tools that restore a time do.
 */
function damageInPlace(file: string, exactTime: boolean): void {
  const mtime = execFileSync('stat', ['-c', '%.9Y', file], { encoding: 'utf8' }).trim();
  const before = fs.statSync(file);
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, Buffer.from(bytes.map((b) => b ^ 0x20)));
  if (exactTime) execFileSync('touch', ['-m', '-d', `@${mtime}`, file]);
  else fs.utimesSync(file, before.atime, new Date(Math.floor(before.mtimeMs)));
}

function pushedBundles(): string[] {
  return resticSnapshots(repo, passwordFile, env).map((s) => tagValue(s, 'bundle') ?? '');
}

function dump(snapshotId: string, rel: string): Buffer {
  return execFileSync('restic', ['dump', snapshotId, `/payload/${rel}`], { env: { ...process.env, ...env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile } });
}

beforeAll(async () => {
  base = tempDir('clawback-push-unread-');
  env = { RESTIC_CACHE_DIR: path.join(base, 'restic-cache') };
  home = path.join(base, 'home');
  ({ root, repo, passwordFile } = await setUpPush(base, ok, { scale: 'small', password: 'push unread' }));
}, 120_000);

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
}, 120_000);

describe('push hashes what restic reads', () => {
  let first: string;
  let second: string;

  it('an unchanged re-snapshot is still pushed, restic reading none of its payload', async () => {
    first = await snapshot();
    expect((await push(first)).pushed).toBe(1);
    second = await snapshot();
    expect(fs.statSync(payloadFile(second)).ino).toBe(fs.statSync(payloadFile(first)).ino);
    const doc = await push(second);
    expect(doc.pushed).toBe(1);
    expect(doc.bundles[0]!.status).toBe('pushed');
    // Only the manifest and its inventory are new files; every payload file is the parent's.
    expect(doc.bundles[0]!.filesNew + doc.bundles[0]!.filesChanged).toBeLessThanOrEqual(2);
    expect(doc.bundles[0]!.filesUnmodified).toBeGreaterThan(100);
    expect(pushedBundles().sort()).toEqual([first, second].sort());
  });

  it('a damaged file restic would read (changed since the parent) is refused, exit 6, and nothing is pushed', async () => {
    fs.appendFileSync(path.join(root, FILE), '\na change, so the next snapshot copies this file\n');
    const changed = await snapshot();
    expect(fs.statSync(payloadFile(changed)).nlink).toBe(1);
    damageInPlace(payloadFile(changed), true);
    const result = await clawback(home, ['oc', 'snapshot', 'push', changed, '--repo', 'r', '--json'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(6);
    const error = JSON.parse(String(result.stderr)) as { code: string; message: string; details: string[] };
    expect(error.code).toBe('push-damaged');
    expect(error.message).toBe(`oc snapshot ${changed} does not verify, so it was not pushed (1 problem(s))`);
    expect(error.details).toEqual([expect.stringMatching(new RegExp(`^${FILE}: content differs`))]);
    expect(pushedBundles()).not.toContain(changed);
    await ok(['oc', 'snapshot', 'delete', changed, '--yes']);
  });

  it('a linked file whose mtime was set back after the damage is hashed (restic would read it): refused', async () => {
    fs.appendFileSync(path.join(root, FILE), '\nanother change\n');
    const copied = await snapshot();
    expect((await push(copied)).pushed).toBe(1);
    const linked = await snapshot();
    expect(fs.statSync(payloadFile(linked)).ino).toBe(fs.statSync(payloadFile(copied)).ino);
    damageInPlace(payloadFile(linked), false);
    const result = await clawback(home, ['oc', 'snapshot', 'push', linked, '--repo', 'r', '--json'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(6);
    expect((JSON.parse(String(result.stderr)) as { code: string }).code).toBe('push-damaged');
    expect(pushedBundles()).not.toContain(linked);
  });

  it('a file damaged in place that restic takes unread from the parent: pushed, and the repository keeps the checked bytes', async () => {
    // A change, so this snapshot copies the file; the next one links it.
    fs.appendFileSync(path.join(root, FILE), '\na third change\n');
    const content = fs.readFileSync(path.join(root, FILE));
    const base1 = await snapshot();
    expect((await push(base1)).pushed).toBe(1);
    const linked = await snapshot();
    expect(fs.statSync(payloadFile(linked)).ino).toBe(fs.statSync(payloadFile(base1)).ino);
    damageInPlace(payloadFile(linked), true);
    const doc = await push(linked);
    expect(doc.pushed).toBe(1);
    // restic did not read the damaged file: the pushed snapshot holds the bytes checked with the parent.
    expect(dump(doc.bundles[0]!.snapshotId, FILE).equals(content)).toBe(true);
    // The local copy is damaged all the same, and verify says so.
    const verify = await clawback(home, ['oc', 'snapshot', 'verify', linked], { env });
    expect(verify.exitCode).toBe(6);
    expect(String(verify.stdout) + String(verify.stderr)).toContain(FILE);
  });

  it('without its parent bundle on disk every file is hashed: the same damage is refused', async () => {
    const next = await snapshot();
    const parent = pushedBundles().sort().at(-1)!;
    expect(fs.statSync(payloadFile(next)).ino).toBe(fs.statSync(payloadFile(parent)).ino);
    await ok(['oc', 'snapshot', 'delete', parent, '--yes']);
    const result = await clawback(home, ['oc', 'snapshot', 'push', next, '--repo', 'r', '--json'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(6);
    expect((JSON.parse(String(result.stderr)) as { code: string }).code).toBe('push-damaged');
    expect(pushedBundles()).not.toContain(next);
  });
});
