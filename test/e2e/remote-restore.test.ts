import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTargetUnavailable, makeBusyboxTarget, type BusyboxTarget } from '../../fixtures/busybox-target.js';
import { generateHome } from '../../fixtures/generate.js';
import { startSshd, type Sshd } from '../../fixtures/sshd.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { restoreLeftovers } from '../helpers/restore.js';
import { writeDatabaseRow } from '../helpers/sqlite.js';
import { copyTree, treeDigest } from '../helpers/tree.js';

/**
 * `snapshot restore` through a transport (issue 14 item 3): a real loopback OpenSSH server and a
 * busybox-only target entered with unshare. The state roots are host directories (the ssh target is
 * this machine; the busybox rootfs is a host dir), so the test reads them directly.
 */

let dir: string;
let home: string;
let sshd: Sshd;
const servers: Sshd[] = [];
let env: Record<string, string>;

const cli = (...args: string[]): Promise<Result> => clawback(home, args, { env });
const digest = (root: string): Record<string, string> => treeDigest(root, { databasesByContent: true });

function change(root: string): void {
  fs.writeFileSync(path.join(root, 'workspace/SOUL.md'), 'changed after the snapshot\n');
  fs.rmSync(path.join(root, 'workspace/USER.md'));
  fs.writeFileSync(path.join(root, 'workspace/NEW.md'), 'added after the snapshot\n');
  writeDatabaseRow(path.join(root, 'memory/main.sqlite'));
}

/** Leftovers in the parent of a root: stage dirs, old dirs, markers, temp files. */
function leftovers(root: string): string[] {
  return [...restoreLeftovers(root), ...fs.readdirSync(path.dirname(root)).filter((n) => n.startsWith('.clawback-tmp-'))];
}

/** The uids of everything below `root`. */
function ownersBelow(root: string): Set<number> {
  const owners = new Set<number>();
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const stat = fs.lstatSync(path.join(dir, name));
      owners.add(stat.uid);
      if (stat.isDirectory()) walk(path.join(dir, name));
    }
  };
  walk(root);
  return owners;
}

/** Every process below `pid` (from /proc): an sshd's sessions run in their own process groups. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) if (ppid === parent) found.push(child), queue.push(child);
  }
  return found;
}

/** The server and every connection it carries die at once: a dropped connection, as clawback sees it. */
function dropServer(server: Sshd): void {
  const sessions = descendants(server.pid);
  server.kill();
  for (const pid of sessions) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Runs clawback until it reaches `point` (CLAWBACK_TEST_FAULT=PAUSE:…), does `act` there, then lets it finish. */
async function actAt(point: string, act: () => void, args: string[]): Promise<Result> {
  const fifos = fs.mkdtempSync(path.join(dir, 'fifo-'));
  execFileSync('mkfifo', [path.join(fifos, 'reached'), path.join(fifos, 'resume')]);
  const running = clawback(home, args, { env: { ...env, CLAWBACK_TEST_FAULT: `PAUSE:${fifos}@${point}` } });
  const reached = await Promise.race([fs.promises.readFile(path.join(fifos, 'reached'), 'utf8'), running.then(() => undefined)]);
  if (reached === undefined) {
    fs.writeFileSync(path.join(fifos, 'reached'), '');
    return running;
  }
  act();
  fs.writeFileSync(path.join(fifos, 'resume'), 'go\n');
  return running;
}

beforeAll(async () => {
  dir = tempDir('clawback-remote-restore-');
  home = path.join(dir, 'home');
  await restartSshd();
});

/** A new server for the same alias (a killed one cannot be restarted): the journal's `ssh:<alias>` reaches the same files again. */
async function restartSshd(): Promise<void> {
  sshd = await startSshd({ dir: path.join(dir, `sshd-${servers.length}`) });
  servers.push(sshd);
  env = { CLAWBACK_SSH_CONFIG: sshd.configFile };
}

afterAll(async () => {
  for (const server of servers) await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('restore through ssh:', () => {
  let root: string;
  let snapshotState: Record<string, string>;
  let pristine: string;

  beforeAll(async () => {
    root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(dir, 'ssh-state', '.openclaw') }).root;
    pristine = path.join(dir, 'ssh-pristine');
    await copyTree(root, pristine);
    const added = await cli('sandbox', 'add', 'box', '--agent', 'openclaw', '--root', root, '--via', `ssh:${sshd.alias}`);
    expect(added.exitCode, String(added.stderr)).toBe(0);
    const created = await cli('box', 'snapshot', 'create');
    expect(created.exitCode, String(created.stderr)).toBe(0);
    snapshotState = digest(root);
  });

  it('create → change → restore gives back the snapshot byte for byte, WAL database included', async () => {
    change(root);
    const changed = digest(root);
    expect(changed).not.toEqual(snapshotState);
    const dry = await cli('--json', 'box', 'snapshot', 'restore', 'v1', '--dry-run');
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const planned = json<{ restore: { paths: Record<'replaced' | 'added' | 'removed', string[]> } }>(dry).restore.paths;
    expect(planned.replaced).toContain('workspace/SOUL.md');
    expect(planned.replaced).toContain('memory/main.sqlite');
    expect(planned.added).toEqual(['workspace/USER.md']);
    // A restored database's live -wal/-shm belong to the old content: removed with it, as locally.
    expect(planned.removed.filter((p) => !/-(wal|shm)$/.test(p))).toEqual(['workspace/NEW.md']);
    expect(digest(root)).toEqual(changed);

    // The agent's files belong to its user; clawback reaches them as root (as docker exec does).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chown', ['-R', '1000:1000', root]);
    const restored = await cli('--json', 'box', 'snapshot', 'restore', 'v1');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    if (asRoot) expect(ownersBelow(root)).toEqual(new Set([1000]));
    const summary = json<{ restore: { preRestore: { selector: string } | null; databases: string[] } }>(restored).restore;
    expect(summary.preRestore?.selector).toMatch(/^pre-restore-/);
    expect(summary.databases).toContain('memory/main.sqlite');
    expect(digest(root)).toEqual(snapshotState);
    expect(leftovers(root)).toEqual([]);
    expect(fs.existsSync(path.join(home, 'journal', 'box.json'))).toBe(false);
  });

  it('--path restores only what it names; the rest stays as it is', async () => {
    await copyTree(pristine, root);
    change(root);
    const restored = await cli('box', 'snapshot', 'restore', 'v1', '--path', 'workspace/SOUL.md', '--no-pre-restore', '--yes');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const now = digest(root);
    expect(now['workspace/SOUL.md']).toEqual(snapshotState['workspace/SOUL.md']);
    expect(now['workspace/NEW.md']).toBeDefined();
    expect(now['workspace/USER.md']).toBeUndefined();
    const back = await cli('box', 'snapshot', 'restore', 'v1', '--no-pre-restore', '--yes');
    expect(back.exitCode, String(back.stderr)).toBe(0);
    expect(digest(root)).toEqual(snapshotState);
  });

  it.each([
    { point: 'restore:staged', want: 'old', exitCode: 8 },
    { point: 'restore:committed', want: 'new', exitCode: 0 },
  ] as const)('the ssh server SIGKILLed at $point: the next command, the server back, leaves the $want tree and nothing behind', async ({ point, want, exitCode }) => {
    await copyTree(pristine, root);
    change(root);
    const oldState = digest(root);
    const cut = await actAt(point, () => dropServer(sshd), ['box', 'snapshot', 'restore', 'v1', '--no-pre-restore', '--yes']);
    expect(cut.exitCode, String(cut.stderr)).toBe(exitCode);
    if (exitCode === 8) expect(String(cut.stderr)).toContain('via ssh:');
    expect(fs.existsSync(path.join(home, 'journal', 'box.json'))).toBe(true);
    expect(leftovers(root).length).toBeGreaterThan(0);

    const unreachable = await cli('sandbox', 'list');
    expect(unreachable.exitCode).toBe(0);
    expect(String(unreachable.stderr)).toContain('cannot be settled now');

    await restartSshd();
    const next = await cli('sandbox', 'list');
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(String(next.stderr)).toContain(`an interrupted restore of box was ${want === 'old' ? 'rolled back' : 'completed'}`);
    expect(digest(root)).toEqual(want === 'old' ? oldState : snapshotState);
    expect(leftovers(root)).toEqual([]);
    expect(fs.existsSync(path.join(home, 'journal', 'box.json'))).toBe(false);
  });

  it('migrates a local sandbox into the ssh target with --to, and back', async () => {
    const localRoot = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(dir, 'laptop', '.openclaw'), seed: 7 }).root;
    const original = digest(localRoot);
    expect((await cli('sandbox', 'add', 'laptop', '--agent', 'openclaw', '--root', localRoot)).exitCode).toBe(0);
    expect((await cli('laptop', 'snapshot', 'create')).exitCode).toBe(0);
    const remoteRoot = path.join(dir, 'container', 'sandbox', '.openclaw');
    fs.mkdirSync(path.dirname(remoteRoot), { recursive: true });
    expect((await cli('sandbox', 'add', 'moved', '--agent', 'openclaw', '--root', remoteRoot, '--via', `ssh:${sshd.alias}`)).exitCode).toBe(0);

    // What the snapshot holds (no caches, logs or machine-local files), as a local restore writes it.
    const reference = path.join(dir, 'reference', '.openclaw');
    expect((await cli('laptop', 'snapshot', 'restore', '--to', 'reference', '--root', reference)).exitCode).toBe(0);
    const expected = digest(reference);
    expect(Object.keys(expected).length).toBeGreaterThan(20);

    const there = await cli('laptop', 'snapshot', 'restore', '--to', 'moved', '--force', '--yes');
    expect(there.exitCode, String(there.stderr)).toBe(0);
    expect(digest(remoteRoot)).toEqual(expected);
    expect(leftovers(remoteRoot)).toEqual([]);

    expect((await cli('moved', 'snapshot', 'create')).exitCode).toBe(0);
    const backRoot = path.join(dir, 'laptop-again', '.openclaw');
    const back = await cli('moved', 'snapshot', 'restore', '--to', 'laptop2', '--root', backRoot);
    expect(back.exitCode, String(back.stderr)).toBe(0);
    expect(digest(backRoot)).toEqual(expected);
    expect(digest(localRoot)).toEqual(original);
  }, 180_000);
});

describe('restore through openshell: (a fake openshell whose ssh-config block reaches the real server)', () => {
  it('create → change → restore gives back the snapshot byte for byte', async () => {
    const root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(dir, 'openshell-state', '.openclaw'), seed: 3 }).root;
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    const block = [
      'Host openshell-web.default',
      `  User ${sshd.user}`,
      `  IdentityFile ${sshd.identityFile}`,
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      `  ProxyCommand ssh -F ${sshd.configFile} -W 127.0.0.1:${sshd.port} ${sshd.alias}`,
    ].join('\n');
    fs.writeFileSync(path.join(bin, 'openshell'), `#!/bin/sh\ncat <<'EOF'\n${block}\nEOF\n`, { mode: 0o755 });
    const shellEnv = { PATH: `${bin}:${process.env.PATH ?? ''}` };
    const run = (...args: string[]): Promise<Result> => clawback(home, args, { env: shellEnv });
    expect((await run('sandbox', 'add', 'web', '--agent', 'openclaw', '--root', root, '--via', 'openshell:web@gw1')).exitCode).toBe(0);
    expect((await run('web', 'snapshot', 'create')).exitCode).toBe(0);
    const snapshotState = digest(root);
    change(root);
    const restored = await run('web', 'snapshot', 'restore', 'v1', '--no-pre-restore', '--yes');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(digest(root)).toEqual(snapshotState);
    expect(leftovers(root)).toEqual([]);
  });
});

describe.skipIf(busyboxTargetUnavailable() !== undefined)('restore through a busybox exec: target (no python3, no sqlite3)', () => {
  let target: BusyboxTarget;
  let root: string;
  let snapshotState: Record<string, string>;
  let changedTemplate: string;

  beforeAll(async () => {
    target = makeBusyboxTarget(path.join(dir, 'rootfs'));
    root = target.hostPath('/sandbox/.openclaw');
    generateHome({ kind: 'openclaw', scale: 'tiny', dir: root });
    const added = await cli('sandbox', 'add', 'bb', '--agent', 'openclaw', '--root', '/sandbox/.openclaw', '--via', target.via);
    expect(added.exitCode, String(added.stderr)).toBe(0);
    const created = await cli('bb', 'snapshot', 'create');
    expect(created.exitCode, String(created.stderr)).toBe(0);
    snapshotState = digest(root);
    change(root);
    changedTemplate = path.join(dir, 'bb-changed');
    await copyTree(root, changedTemplate);
  });

  it('create → change → restore gives back the snapshot byte for byte', async () => {
    const restored = await cli('bb', 'snapshot', 'restore', 'v1');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(digest(root)).toEqual(snapshotState);
    expect(leftovers(root)).toEqual([]);
  });

  it('refuses a staged tree that holds anything but what was sent, before the swap, and leaves nothing behind', async () => {
    await copyTree(changedTemplate, root);
    const oldState = digest(root);
    const intruder = (): void => {
      const stage = fs.readdirSync(path.dirname(root)).find((n) => n.startsWith('.openclaw.clawback-stage-'))!;
      fs.writeFileSync(path.join(path.dirname(root), stage, 'workspace', 'INTRUDER.md'), 'not from the snapshot\n');
    };
    const refused = await actAt('restore:staged', intruder, ['bb', 'snapshot', 'restore', 'v1', '--no-pre-restore', '--yes']);
    expect(refused.exitCode, String(refused.stderr)).toBe(5);
    expect(String(refused.stderr)).toContain('unexpected file workspace/INTRUDER.md');
    expect(digest(root)).toEqual(oldState);
    expect(leftovers(root)).toEqual([]);
  });

  const POINTS: Array<{ point: string; expect: 'old' | 'new' }> = [
    { point: 'restore:staging', expect: 'old' },
    { point: 'restore:carried', expect: 'old' },
    { point: 'restore:renamed-live-0', expect: 'old' },
    { point: 'restore:renamed-staged-0', expect: 'old' },
    { point: 'restore:before-cleanup', expect: 'new' },
  ];

  it.each(POINTS)('a restore SIGKILLed at $point leaves exactly the $expect tree once the next command ran', async ({ point, expect: want }) => {
    await copyTree(changedTemplate, root);
    const oldState = digest(root);
    const killed = await clawback(home, ['bb', 'snapshot', 'restore', 'v1', '--no-pre-restore', '--yes'], { env: { ...env, CLAWBACK_TEST_FAULT: point } });
    expect(killed.signal, `${point} was never reached: ${String(killed.stderr)}`).toBe('SIGKILL');
    expect(fs.existsSync(path.join(home, 'journal', 'bb.json'))).toBe(true);

    const next = await cli('sandbox', 'list');
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(String(next.stderr)).toContain('an interrupted restore of bb was');
    expect(digest(root)).toEqual(want === 'old' ? oldState : snapshotState);
    expect(leftovers(root)).toEqual([]);
    expect(fs.existsSync(path.join(home, 'journal', 'bb.json'))).toBe(false);
  });
});
