import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, tempDir } from '../helpers/cli.js';
import { resticSnapshots, tagValue } from '../helpers/restic.js';

/** backup-all --push over three tiny sandboxes (one failing), then retention on the repository. */
let base: string;
let home: string;
let repo: string;
let passwordFile: string;
let env: Record<string, string>;

async function ok(args: string[]): Promise<string> {
  const result = await clawback(home, args, { env });
  expect(result.exitCode, `${args.join(' ')}: ${String(result.stderr)}`).toBe(0);
  return String(result.stdout);
}

const snapshotsOf = (sandbox: string): string[] =>
  resticSnapshots(repo, passwordFile, env)
    .filter((s) => s.tags.includes('clawback') && tagValue(s, 'sandbox') === sandbox)
    .map((s) => tagValue(s, 'bundle')!)
    .sort();

beforeAll(async () => {
  base = tempDir('clawback-offsite-fleet-');
  env = { RESTIC_CACHE_DIR: path.join(base, 'restic-cache') };
  home = path.join(base, 'home');
  repo = path.join(base, 'repo');
  passwordFile = path.join(base, 'password');
  fs.writeFileSync(passwordFile, 'fleet password\n', { mode: 0o600 });
  for (const name of ['alpha', 'beta']) {
    const root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, name) }).root;
    await ok(['sandbox', 'add', name, '--agent', 'openclaw', '--root', root]);
  }
  // A root holding an absolute symlink out of it: every snapshot of it is refused.
  const broken = path.join(base, 'broken');
  fs.mkdirSync(path.join(broken, 'workspace'), { recursive: true });
  fs.writeFileSync(path.join(broken, 'openclaw.json'), '{}\n');
  fs.symlinkSync('/etc/passwd', path.join(broken, 'workspace', 'escape'));
  await ok(['sandbox', 'add', 'broken', '--agent', 'openclaw', '--root', broken]);
  await ok(['repo', 'add', 'r', repo, '--password-file', passwordFile]);
  await ok(['repo', 'init', 'r']);
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('backup-all --push', () => {
  it('a failing sandbox fails its row (exit 3); the others are snapshotted and pushed', async () => {
    const result = await clawback(home, ['backup-all', '--push', 'r', '--json'], { env });
    expect(result.exitCode, String(result.stderr)).toBe(3);
    const doc = JSON.parse(String(result.stdout)) as { rows: Array<{ name: string; status: string; pushed?: { repo: string; snapshotId: string }; snapshot?: { timestamp: string } }> };
    const rows = Object.fromEntries(doc.rows.map((r) => [r.name, r]));
    expect(rows.broken!.status).toBe('failed');
    for (const name of ['alpha', 'beta']) {
      expect(rows[name]!.status).toBe('ok');
      expect(rows[name]!.pushed?.repo).toBe('r');
      expect(snapshotsOf(name)).toEqual([rows[name]!.snapshot!.timestamp]);
    }
    expect(snapshotsOf('broken')).toEqual([]);
  });

  it('a failed push is a failed row and the local snapshot stays', async () => {
    await ok(['repo', 'add', 'nowhere', path.join(base, 'no-such-repo'), '--password-file', passwordFile]);
    const result = await clawback(home, ['backup-all', '--push', 'nowhere', '--json'], { env });
    expect(result.exitCode).toBe(3);
    const doc = JSON.parse(String(result.stdout)) as { rows: Array<{ name: string; status: string; code?: string; snapshot?: { dir: string } }> };
    const alpha = doc.rows.find((r) => r.name === 'alpha')!;
    expect(alpha).toMatchObject({ status: 'failed', code: 'repo-missing' });
    expect(fs.existsSync(path.join(alpha.snapshot!.dir, 'rebuild-manifest.json'))).toBe(true);
  });
});

describe('snapshot prune --repo', () => {
  it('--keep-last 2 leaves exactly two clawback snapshots of that sandbox and none of another sandbox\'s are touched', async () => {
    await ok(['alpha', 'snapshot', 'create', '-q']);
    await ok(['alpha', 'snapshot', 'create', '-q']);
    await ok(['alpha', 'snapshot', 'push', '--repo', 'r', '--missing']);
    const alphaBefore = snapshotsOf('alpha');
    const betaBefore = snapshotsOf('beta');
    expect(alphaBefore.length).toBeGreaterThanOrEqual(4);
    const dry = JSON.parse(await ok(['alpha', 'snapshot', 'prune', '--repo', 'r', '--keep-last', '2', '--dry-run', '--json'])) as { kept: number; removed: number };
    expect(dry).toMatchObject({ kept: 2, removed: alphaBefore.length - 2 });
    expect(snapshotsOf('alpha')).toEqual(alphaBefore);
    const text = await ok(['alpha', 'snapshot', 'prune', '--repo', 'r', '--keep-last', '2']);
    expect(text).toMatch(/Action\s+Version\s+Name\s+Timestamp\s+Size\s+Why/);
    expect(text).toContain(`kept 2, removed ${alphaBefore.length - 2} snapshot(s) of alpha in repository r`);
    expect(snapshotsOf('alpha')).toEqual(alphaBefore.slice(-2));
    expect(snapshotsOf('beta')).toEqual(betaBefore);
    await ok(['repo', 'check', 'r']);
  });

  it('a repository another restic holds is exit 7 with the unlock hint; once it is free the retry succeeds', async () => {
    await ok(['alpha', 'snapshot', 'create', '-q']);
    await ok(['alpha', 'snapshot', 'create', '-q']);
    await ok(['alpha', 'snapshot', 'push', '--repo', 'r', '--missing']);
    expect(snapshotsOf('alpha').length).toBeGreaterThanOrEqual(2);
    const locks = path.join(repo, 'locks');
    const lockSeen = new Promise<void>((resolve) => {
      const watcher = fs.watch(locks, () => {
        if (fs.readdirSync(locks).length === 0) return;
        watcher.close();
        resolve();
      });
    });
    // `backup --stdin` holds its lock until its input ends: a live restic on the repository.
    const holder = spawn('restic', ['backup', '--stdin', '--stdin-filename', 'held'], {
      env: { ...process.env, ...env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => holder.on('close', resolve));
    await lockSeen;
    const busy = await clawback(home, ['alpha', 'snapshot', 'prune', '--repo', 'r', '--keep-last', '1'], { env });
    expect(busy.exitCode, String(busy.stderr)).toBe(7);
    expect(String(busy.stderr)).toMatch(/repository r .* is locked: locked .*by PID/);
    expect(String(busy.stderr)).toContain('clawback repo unlock r');
    holder.stdin.end('held data\n');
    expect(await exited).toBe(0);
    await ok(['alpha', 'snapshot', 'prune', '--repo', 'r', '--keep-last', '1']);
    expect(snapshotsOf('alpha')).toHaveLength(1);
  });
});
