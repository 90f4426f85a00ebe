import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { startSshd, type Sshd } from '../../fixtures/sshd.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { databaseContent } from '../helpers/sqlite.js';
import { resticSnapshots, tagValue } from '../helpers/restic.js';
import { treeDigest } from '../helpers/tree.js';

/**
 * An `sftp:` repository through the loopback OpenSSH server (restic runs `ssh -F <config> <alias>
 * -s sftp`, given as a stored `--option sftp.command=…`), and clawback killed with its restic during
 * a push and during a pull.
 */
let base: string;
let sshd: Sshd;
let root: string;
let homeA: string;
let repoDir: string;
let passwordFile: string;
let env: Record<string, string>;

async function ok(home: string, args: string[]): Promise<string> {
  const result = await clawback(home, args, { env });
  expect(result.exitCode, `${args.join(' ')}: ${String(result.stderr)}`).toBe(0);
  return String(result.stdout);
}

/** Runs clawback as the leader of its own process group and kills the group at `point`, as a crash would. */
async function killedAt(home: string, point: string, args: string[]): Promise<void> {
  const result = await clawback(home, args, { env: { ...env, CLAWBACK_TEST_FAULT: `GROUP@${point}` }, detached: true });
  expect(result.signal, `${args.join(' ')} was not killed at ${point}: exit ${result.exitCode} ${String(result.stderr)}`).toBe('SIGKILL');
}

beforeAll(async () => {
  base = tempDir('clawback-offsite-sftp-');
  sshd = await startSshd({ dir: path.join(base, 'sshd') });
  env = { RESTIC_CACHE_DIR: path.join(base, 'restic-cache') };
  root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'oc') }).root;
  homeA = path.join(base, 'home-a');
  repoDir = path.join(base, 'remote', 'repo');
  fs.mkdirSync(path.dirname(repoDir), { recursive: true });
  passwordFile = path.join(base, 'password');
  fs.writeFileSync(passwordFile, 'sftp password\n', { mode: 0o600 });
  await ok(homeA, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root]);
  await ok(homeA, ['repo', 'add', 'nas', `sftp:${sshd.alias}:${repoDir}`, '--password-file', passwordFile, '--option', `sftp.command=ssh -F ${sshd.configFile} ${sshd.alias} -s sftp`]);
  await ok(homeA, ['repo', 'init', 'nas']);
  await ok(homeA, ['oc', 'snapshot', 'create', '-q', '--name', 'base']);
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('an sftp: repository', () => {
  it('round trip: push, pull on a new machine, restore; the tree and its databases come back', async () => {
    await ok(homeA, ['oc', 'snapshot', 'push', '--repo', 'nas']);
    expect(fs.existsSync(path.join(repoDir, 'config'))).toBe(true);
    const homeB = path.join(base, 'home-b');
    const newRoot = path.join(base, 'machine-b', 'oc');
    await ok(homeB, ['repo', 'add', 'nas', `sftp:${sshd.alias}:${repoDir}`, '--password-file', passwordFile, '--option', `sftp.command=ssh -F ${sshd.configFile} ${sshd.alias} -s sftp`]);
    await ok(homeB, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', newRoot]);
    await ok(homeB, ['oc', 'snapshot', 'restore', 'base', '--repo', 'nas', '--yes']);
    await ok(homeB, ['oc', 'snapshot', 'verify', 'base']);
    const bundle = fs.readdirSync(path.join(homeA, 'rebuild-backups', 'oc')).find((name) => !name.startsWith('.'))!;
    const captured = new Set(Object.keys(treeDigest(path.join(homeA, 'rebuild-backups', 'oc', bundle, 'payload'))));
    const expected = Object.fromEntries(Object.entries(treeDigest(root, { databasesByContent: true })).filter(([rel]) => captured.has(rel)));
    expect(treeDigest(newRoot, { databasesByContent: true })).toEqual(expected);
    const database = Object.keys(expected).find((rel) => rel.endsWith('.sqlite'))!;
    expect(databaseContent(path.join(newRoot, database))).toEqual(databaseContent(path.join(root, database)));
  });
});

describe('killed with its restic', () => {
  it('during a push: the local bundles are untouched, and the retry pushes', async () => {
    fs.appendFileSync(path.join(root, 'workspace', 'SOUL.md'), '\nbefore the killed push\n');
    await ok(homeA, ['oc', 'snapshot', 'create', '-q', '--name', 'killed-push']);
    const bundles = path.join(homeA, 'rebuild-backups', 'oc');
    const before = treeDigest(bundles, { times: true, skip: (rel) => rel.startsWith('.space-cache') });
    await killedAt(homeA, 'push:status', ['oc', 'snapshot', 'push', 'killed-push', '--repo', 'nas']);
    expect(treeDigest(bundles, { times: true, skip: (rel) => rel.startsWith('.space-cache') })).toEqual(before);
    const retry = JSON.parse(await ok(homeA, ['oc', 'snapshot', 'push', 'killed-push', '--repo', 'nas', '--json'])) as { pushed: number };
    expect(retry.pushed).toBe(1);
    const held = resticSnapshots(`sftp:${sshd.alias}:${repoDir}`, passwordFile, env, [`sftp.command=ssh -F ${sshd.configFile} ${sshd.alias} -s sftp`])
      .filter((s) => tagValue(s, 'label') === 'killed-push');
    expect(held).toHaveLength(1);
    // The killed restic's lock stays in the repository. Where nothing reaps the killed process (this
    // container's init), restic counts its holder alive: an exclusive command is refused with the hint.
    const check = await clawback(homeA, ['repo', 'check', 'nas'], { env });
    if (check.exitCode !== 0) {
      expect(check.exitCode, String(check.stderr)).toBe(7);
      expect(String(check.stderr)).toMatch(/is locked: locked by PID \d+/);
      expect(String(check.stderr)).toContain('clawback repo unlock nas');
      await ok(homeA, ['repo', 'unlock', 'nas', '--remove-all']);
      await ok(homeA, ['repo', 'check', 'nas']);
    }
  });

  it('during a pull: no half-pulled bundle is listed as a snapshot, and the retry pulls one that verifies', async () => {
    const homeC = path.join(base, 'home-c');
    await ok(homeC, ['repo', 'add', 'nas', `sftp:${sshd.alias}:${repoDir}`, '--password-file', passwordFile, '--option', `sftp.command=ssh -F ${sshd.configFile} ${sshd.alias} -s sftp`]);
    await ok(homeC, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', path.join(base, 'machine-c', 'oc')]);
    for (const point of ['pull:restoring', 'pull:before-rename']) {
      await killedAt(homeC, point, ['oc', 'snapshot', 'pull', 'base', '--repo', 'nas']);
      const listed = json<{ snapshots: Array<{ state: string; name: string | null }> }>(await clawback(homeC, ['oc', 'snapshot', 'list', '--json'], { env }));
      expect(listed.snapshots.filter((s) => s.state === 'complete')).toEqual([]);
    }
    await ok(homeC, ['oc', 'snapshot', 'pull', 'base', '--repo', 'nas']);
    const listed = json<{ snapshots: Array<{ state: string; name: string | null }> }>(await clawback(homeC, ['oc', 'snapshot', 'list', '--json'], { env }));
    expect(listed.snapshots.map((s) => [s.state, s.name])).toEqual([['complete', 'base']]);
    await ok(homeC, ['oc', 'snapshot', 'verify', 'base']);
  });
});
