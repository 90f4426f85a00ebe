import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawback, tempDir } from '../helpers/cli.js';
import { resticSnapshots, setUpPush, tagValue, type ResticSnapshot } from '../helpers/restic.js';

/**
 * A single bundle's push starts its `restic backup` at once, held before it reads anything, with the
 * parent this host recorded; it is let through only once the bundle checked clean and the listing
 * confirmed that parent. A wrong record costs a restic start, never the right parent; a refusal or
 * a Ctrl-C leaves no snapshot, no lock and no restic process. The tiny OpenClaw home, a local repository.
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

async function snapshot(): Promise<string> {
  const doc = JSON.parse(await ok(['oc', 'snapshot', 'create', '--json'])) as { snapshot: { timestamp: string } };
  return doc.snapshot.timestamp;
}

async function push(timestamp: string): Promise<PushDoc['bundles'][number]> {
  const doc = JSON.parse(await ok(['oc', 'snapshot', 'push', timestamp, '--repo', 'r', '--json'])) as PushDoc;
  expect(doc.pushed).toBe(1);
  return doc.bundles[0]!;
}

/** The repository's snapshot of a bundle, as restic lists it (with the parent restic backed it up against). */
function held(timestamp: string): (ResticSnapshot & { parent?: string }) | undefined {
  return resticSnapshots(repo, passwordFile, env).find((s) => tagValue(s, 'bundle') === timestamp);
}

/** restic processes still running for a bundle (its `bundle=` tag is on their command line). */
function resticProcessesFor(timestamp: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(`bundle=${timestamp}`)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

function locks(): string[] {
  return fs.readdirSync(path.join(repo, 'locks'));
}

function payloadFile(timestamp: string): string {
  return path.join(home, 'rebuild-backups', 'oc', timestamp, 'payload', FILE);
}

/** Nothing of the push is left: no snapshot of the bundle, no lock, no restic process. */
function nothingLeft(timestamp: string): void {
  expect(held(timestamp)).toBeUndefined();
  expect(locks()).toEqual([]);
  expect(resticProcessesFor(timestamp)).toEqual([]);
}

beforeAll(async () => {
  base = tempDir('clawback-push-gate-');
  env = { RESTIC_CACHE_DIR: path.join(base, 'restic-cache') };
  home = path.join(base, 'home');
  ({ root, repo, passwordFile } = await setUpPush(base, ok, { scale: 'tiny', password: 'push gate' }));
}, 120_000);

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
}, 120_000);

describe('a push whose record of the parent is wrong', () => {
  it('after the last pushed snapshot was forgotten in the repository: backed up against the one before it', async () => {
    const first = await push(await snapshot());
    const second = await push(await snapshot());
    expect(held(second.timestamp)?.parent).toBe(held(first.timestamp)?.id);
    execFileSync('restic', ['forget', held(second.timestamp)!.id], { env: { ...process.env, ...env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile } });
    const third = await push(await snapshot());
    expect(held(third.timestamp)?.parent).toBe(held(first.timestamp)?.id);
    // Unchanged files are still taken from the parent, unread.
    expect(third.filesUnmodified).toBeGreaterThan(20);
    expect(third.filesNew).toBeLessThanOrEqual(2);
  });

  it('after the repository was made anew at the same place (the record names a snapshot of the old one): pushed whole, without a parent', async () => {
    fs.rmSync(repo, { recursive: true, force: true });
    await ok(['repo', 'init', 'r']);
    const again = await push(await snapshot());
    expect(held(again.timestamp)?.parent).toBeUndefined();
    expect(again.filesUnmodified).toBe(0);
    expect(again.filesNew).toBeGreaterThan(20);
    // The record is right again: the next push is backed up against this one.
    const next = await push(await snapshot());
    expect(held(next.timestamp)?.parent).toBe(held(again.timestamp)?.id);
    expect(locks()).toEqual([]);
  });
});

describe('a push stopped while its restic waits at the gate', () => {
  it('a damaged bundle found by the check: refused (exit 6), and no snapshot, lock or restic process is left', async () => {
    fs.appendFileSync(path.join(root, FILE), '\na change, so the next snapshot copies this file\n');
    const damaged = await snapshot();
    fs.writeFileSync(payloadFile(damaged), Buffer.from(fs.readFileSync(payloadFile(damaged)).map((b) => b ^ 0x20)));
    const result = await clawback(home, ['oc', 'snapshot', 'push', damaged, '--repo', 'r', '--json'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(6);
    expect((JSON.parse(String(result.stderr)) as { code: string }).code).toBe('push-damaged');
    nothingLeft(damaged);
    await ok(['oc', 'snapshot', 'delete', damaged, '--yes']);
  });

  it('Ctrl-C: exit 130, and no snapshot, lock or restic process is left', async () => {
    const interrupted = await snapshot();
    const result = await clawback(home, ['oc', 'snapshot', 'push', interrupted, '--repo', 'r'], { env: { ...env, CLAWBACK_TEST_FAULT: 'SIGINT@push:started' } });
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(String(result.stderr)).toContain('interrupted');
    nothingLeft(interrupted);
    // The bundle is pushed by the next try.
    expect((await push(interrupted)).status).toBe('pushed');
  });

  it('a wrong password: exit 6, said once, and no snapshot, lock or restic process is left', async () => {
    const wrong = path.join(base, 'wrong-password');
    fs.writeFileSync(wrong, 'not it\n', { mode: 0o600 });
    await ok(['repo', 'add', 'bad', repo, '--password-file', wrong]);
    const timestamp = await snapshot();
    const result = await clawback(home, ['oc', 'snapshot', 'push', timestamp, '--repo', 'bad'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(6);
    expect(String(result.stderr).match(/wrong password/g)).toHaveLength(1);
    nothingLeft(timestamp);
  });
});

describe('a local repository whose snapshots/ directory holds what this host recorded', () => {
  it('is not listed by restic again, until a snapshot appears there or goes', async () => {
    // restic itself, its calls logged: a push that lists the repository runs `restic ... snapshots ...`.
    const log = path.join(base, 'restic-calls');
    const bin = path.join(base, 'logging-bin');
    fs.mkdirSync(bin, { recursive: true });
    const real = execFileSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'restic'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const logged = { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const listings = (): number => {
      const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n') : [];
      fs.rmSync(log, { force: true });
      return lines.filter((line) => /(^| )snapshots( |$)/.test(line)).length;
    };
    const pushLogged = async (timestamp: string): Promise<PushDoc> => {
      const result = await clawback(home, ['oc', 'snapshot', 'push', timestamp, '--repo', 'r', '--json'], { env: logged });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      return JSON.parse(String(result.stdout)) as PushDoc;
    };
    const resticEnv = { ...process.env, ...env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile };

    const first = (await pushLogged(await snapshot())).bundles[0]!;
    listings();
    // Nothing changed in the repository since: the record is its listing.
    const second = (await pushLogged(await snapshot())).bundles[0]!;
    expect(listings()).toBe(0);
    expect(second.status).toBe('pushed');
    expect(held(second.timestamp)?.parent).toBe(held(first.timestamp)?.id);
    expect(second.filesUnmodified).toBeGreaterThan(20);

    // Another machine pushes the next bundle behind this one's back: restic lists, and it is not pushed twice.
    const third = await snapshot();
    const dir = path.join(home, 'rebuild-backups', 'oc', third);
    execFileSync(real, ['backup', '-q', '--tag', 'clawback', '--tag', 'sandbox=oc', '--tag', `bundle=${third}`, '--host', 'elsewhere', '.'], { cwd: dir, env: resticEnv });
    const present = await pushLogged(third);
    expect(listings()).toBe(1);
    expect([present.pushed, present.bundles[0]!.status]).toEqual([0, 'present']);
    expect(resticSnapshots(repo, passwordFile, env).filter((s) => tagValue(s, 'bundle') === third)).toHaveLength(1);

    // A snapshot forgotten: restic lists again, and the next bundle is backed up against the one before.
    execFileSync(real, ['forget', held(second.timestamp)!.id], { env: resticEnv });
    const fourth = (await pushLogged(await snapshot())).bundles[0]!;
    expect(listings()).toBe(1);
    expect(held(fourth.timestamp)?.parent).toBe(held(first.timestamp)?.id);
    // And the record is the listing again.
    const fifth = (await pushLogged(await snapshot())).bundles[0]!;
    expect(listings()).toBe(0);
    expect(held(fifth.timestamp)?.parent).toBe(held(fourth.timestamp)?.id);
    expect(locks()).toEqual([]);
  });
});

describe('a new local repository, with no snapshot in it yet', () => {
  /** restic's calls, logged by a wrapper around the real binary: how many listed the repository (`restic ... snapshots ...`). */
  function loggedRestic(name: string): { env: Record<string, string>; listings: () => number } {
    const log = path.join(base, `${name}-calls`);
    const bin = path.join(base, `${name}-bin`);
    fs.mkdirSync(bin, { recursive: true });
    const real = execFileSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'restic'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    return {
      env: { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      listings: () => {
        const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n') : [];
        fs.rmSync(log, { force: true });
        return lines.filter((line) => /(^| )snapshots( |$)/.test(line)).length;
      },
    };
  }

  it('is pushed to without a listing (its snapshots/ directory is empty): whole, without a parent, and the next push has one', async () => {
    const fresh = path.join(base, 'fresh-repo');
    await ok(['repo', 'add', 'fresh', fresh, '--password-file', passwordFile]);
    await ok(['repo', 'init', 'fresh']);
    const restic = loggedRestic('fresh');
    const pushFresh = async (timestamp: string): Promise<PushDoc> => {
      const result = await clawback(home, ['oc', 'snapshot', 'push', timestamp, '--repo', 'fresh', '--json'], { env: restic.env });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      return JSON.parse(String(result.stdout)) as PushDoc;
    };
    // An earlier bundle here is no parent: the repository holds none of them.
    const first = (await pushFresh(await snapshot())).bundles[0]!;
    expect(restic.listings()).toBe(0);
    expect(first.status).toBe('pushed');
    expect(first.filesUnmodified).toBe(0);
    const snapshots = resticSnapshots(fresh, passwordFile, env);
    expect(snapshots.map((s) => tagValue(s, 'bundle'))).toEqual([first.timestamp]);
    expect((snapshots[0] as ResticSnapshot & { parent?: string }).parent).toBeUndefined();
    const second = (await pushFresh(await snapshot())).bundles[0]!;
    expect(restic.listings()).toBe(0);
    expect(second.filesUnmodified).toBeGreaterThan(20);
    const parent = resticSnapshots(fresh, passwordFile, env).find((s) => tagValue(s, 'bundle') === second.timestamp) as (ResticSnapshot & { parent?: string }) | undefined;
    expect(parent?.parent).toBe(snapshots[0]!.id);
    expect(fs.readdirSync(path.join(fresh, 'locks'))).toEqual([]);
  });

  it('a wrong password: exit 6, said once, and no snapshot, lock or restic process is left', async () => {
    const empty = path.join(base, 'empty-repo');
    const wrong = path.join(base, 'wrong-password-empty');
    fs.writeFileSync(wrong, 'not it\n', { mode: 0o600 });
    await ok(['repo', 'add', 'empty', empty, '--password-file', passwordFile]);
    await ok(['repo', 'init', 'empty']);
    await ok(['repo', 'add', 'empty-bad', empty, '--password-file', wrong]);
    const timestamp = await snapshot();
    const result = await clawback(home, ['oc', 'snapshot', 'push', timestamp, '--repo', 'empty-bad'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(6);
    expect(String(result.stderr).match(/wrong password/g)).toHaveLength(1);
    expect(resticSnapshots(empty, passwordFile, env)).toEqual([]);
    expect(fs.readdirSync(path.join(empty, 'locks'))).toEqual([]);
    expect(resticProcessesFor(timestamp)).toEqual([]);
  });

  it('a damaged database copy (hashed, not quick_checked again, by push): refused, exit 6, and nothing is pushed', async () => {
    const damaged = await snapshot();
    const dir = path.join(home, 'rebuild-backups', 'oc', damaged);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'rebuild-manifest.json'), 'utf8')) as { stateFiles: Array<{ path: string; strategy: string }> };
    const database = manifest.stateFiles.find((f) => f.strategy === 'sqlite_backup')!.path;
    const file = path.join(dir, 'payload', database);
    // One byte past the header page, changed: the copy is the same size, its sha256 is not.
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBeGreaterThan(4096);
    bytes[4096 + 100] = bytes[4096 + 100]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const result = await clawback(home, ['oc', 'snapshot', 'push', damaged, '--repo', 'empty', '--json'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(6);
    const error = JSON.parse(String(result.stderr)) as { code: string; details?: string[] };
    expect(error.code).toBe('push-damaged');
    expect(error.details?.some((line) => line.startsWith(`${database}: content differs`))).toBe(true);
    expect(resticSnapshots(path.join(base, 'empty-repo'), passwordFile, env)).toEqual([]);
    expect(resticProcessesFor(damaged)).toEqual([]);
  });
});
