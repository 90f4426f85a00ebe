import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTargetUnavailable, makeBusyboxTarget, type BusyboxTarget } from '../../fixtures/busybox-target.js';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { sshdBinary, startSshd, type Sshd } from '../../fixtures/sshd.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { expectPayloadMatches, quickCheckOk, rowCount, startWriter, type CreateDoc } from '../helpers/remote.js';

/**
 * `snapshot create` through ssh: and openshell: against a real loopback OpenSSH server (SPEC §11).
 * The "remote" tree is a directory on this machine reached only through ssh.
 */
/** SIGKILL of the server and every connection it serves (sshd's session processes leave its process group). */
function killTree(pid: number): void {
  const parents = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
  }
  const all: number[] = [];
  const visit = (p: number): void => {
    all.push(p);
    for (const child of parents.get(p) ?? []) visit(child);
  };
  visit(pid);
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

const missing = sshdBinary() === undefined ? 'sshd not installed (apt-get install openssh-server)' : undefined;
if (missing !== undefined) console.log(`ssh transport tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('snapshot create through ssh: and openshell:', { timeout: 120_000 }, () => {
  let sshd: Sshd;
  let home: string;
  let sample: GeneratedHome;
  let env: Record<string, string>;
  const add = (name: string, via: string, root = sample.root): Promise<unknown> => clawback(home, ['sandbox', 'add', name, '--agent', 'openclaw', '--root', root, '--via', via], { env });

  beforeAll(async () => {
    sshd = await startSshd();
    home = tempDir();
    sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(tempDir(), '.openclaw') });
    // A tree whose bytes are mostly file content, as real homes are (session logs, memory, attachments).
    fs.writeFileSync(path.join(sample.root, 'workspace', 'attachment.bin'), Buffer.alloc(2 * 1024 * 1024, 1));
    env = { CLAWBACK_SSH_CONFIG: sshd.configFile };
    await add('web', `ssh:${sshd.alias}`);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('captures the tree byte-exact, and an unchanged re-snapshot moves at most 1 % of its bytes over the wire', async () => {
    const first = await clawback(home, ['web', 'snapshot', 'create', '--json'], { env });
    expect(first.exitCode, String(first.stderr)).toBe(0);
    const doc = json<CreateDoc>(first).snapshot;
    expect(doc.via).toBe(`ssh:${sshd.alias}`);
    expect(doc.copiedFiles).toBe(doc.files);
    expect(doc.capturedWithoutSqlite).toEqual([]);
    expect(expectPayloadMatches(path.join(doc.dir, 'payload'), sample.root, (a, b, what) => expect(a, what).toEqual(b))).toBeGreaterThan(100);
    const again = await clawback(home, ['web', 'snapshot', 'create', '--json'], { env });
    expect(again.exitCode, String(again.stderr)).toBe(0);
    const second = json<CreateDoc>(again).snapshot;
    expect([second.linkedFiles, second.copiedFiles]).toEqual([doc.files, 0]);
    expect(second.transferredBytes).toBeGreaterThan(0);
    expect(second.transferredBytes!).toBeLessThanOrEqual((sample.bytes + 2 * 1024 * 1024) * 0.01);
    expect((await clawback(home, ['web', 'snapshot', 'verify', '--all'], { env })).exitCode).toBe(0);
    // diff against the live state through ssh: a file touched since the snapshot is hashed in the target, and is no change.
    fs.utimesSync(path.join(sample.root, 'workspace', 'attachment.bin'), new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    const diff = await clawback(home, ['web', 'snapshot', 'diff', 'latest', '--json'], { env });
    expect(diff.exitCode, String(diff.stderr)).toBe(0);
    expect(json<{ added: unknown[]; removed: unknown[]; changed: unknown[]; hashedFiles: number }>(diff)).toMatchObject({ added: [], removed: [], changed: [], hashedFiles: 1 });
  });

  it('a WAL database under a writer is backed up through SQLite in the target, consistent', async () => {
    const db = sample.databases[0]!;
    const { process: writer } = await startWriter(db);
    const before = rowCount(db);
    const created = await clawback(home, ['web', 'snapshot', 'create', '--json'], { env });
    writer.kill('SIGTERM');
    await writer;
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const rel = path.relative(sample.root, db);
    const copy = path.join(json<CreateDoc>(created).snapshot.dir, 'payload', rel);
    expect(quickCheckOk(copy)).toBe(true);
    expect(rowCount(copy)).toBeGreaterThanOrEqual(before);
    expect(fs.readdirSync(path.dirname(sample.root)).filter((n) => n.startsWith('.clawback-tmp-'))).toEqual([]);
  });

  it('openshell: fetches the config block at each use and connects through its ProxyCommand', async () => {
    const bin = tempDir();
    const block = [
      'Host openshell-web.default',
      `  User ${sshd.user}`,
      `  IdentityFile ${sshd.identityFile}`,
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      `  ProxyCommand ssh -F ${sshd.configFile} -W 127.0.0.1:${sshd.port} ${sshd.alias}`,
    ].join('\n');
    const log = path.join(bin, 'calls');
    fs.writeFileSync(path.join(bin, 'openshell'), `#!/bin/sh\necho "$*" >> ${log}\ncat <<'EOF'\n${block}\nEOF\n`, { mode: 0o755 });
    const withPath = { PATH: `${bin}:${process.env.PATH}` };
    await clawback(home, ['sandbox', 'add', 'shell', '--agent', 'openclaw', '--root', sample.root, '--via', 'openshell:web@gw1'], { env: withPath });
    const created = await clawback(home, ['shell', 'snapshot', 'create', '--json'], { env: withPath });
    expect(created.exitCode, String(created.stderr)).toBe(0);
    expect(json<CreateDoc>(created).snapshot.via).toBe('openshell:web@gw1');
    expect(fs.readFileSync(log, 'utf8')).toBe('sandbox -g gw1 ssh-config web\n');
    // Its temp config is gone with the command.
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('clawback-ssh-')).length).toBeLessThan(50);
  });

  it('a closed port is exit 8 (unreachable) and a refused key is exit 8 (auth), each one line with the transport, command and a hint', async () => {
    await add('closed', `ssh:${sshd.alias}:1`);
    const closed = await clawback(home, ['closed', 'snapshot', 'create'], { env });
    expect(closed.exitCode).toBe(8);
    expect(String(closed.stderr)).toMatch(new RegExp(`^clawback: sandbox closed via ssh:${sshd.alias}:1: cannot connect \\(.*\\) \\(running \`ssh ${sshd.alias} -p 1 -F .*\`\\)\\nhint: `));
    const other = path.join(tempDir(), 'ssh_config');
    const key = path.join(path.dirname(other), 'key');
    fs.writeFileSync(key, fs.readFileSync(path.join(sshd.dir, 'host_key')), { mode: 0o600 });
    fs.writeFileSync(other, fs.readFileSync(sshd.configFile, 'utf8').replace(/IdentityFile .*/, `IdentityFile ${key}`));
    const refused = await clawback(home, ['web', 'snapshot', 'create', '--json'], { env: { CLAWBACK_SSH_CONFIG: other } });
    expect(refused.exitCode).toBe(8);
    expect(JSON.parse(String(refused.stderr))).toMatchObject({ code: 'transport-auth', exitCode: 8 });
  });

  it('leftover temp files of a dead clawback beside the root are removed by the next command', async () => {
    const stale = path.join(path.dirname(sample.root), `.clawback-tmp-${os.hostname().replace(/[^A-Za-z0-9.]/g, '_').slice(0, 40)}-4194300-db-0`);
    fs.writeFileSync(stale, 'left by a dropped connection');
    const created = await clawback(home, ['web', 'snapshot', 'create'], { env });
    expect(created.exitCode, String(created.stderr)).toBe(0);
    expect(fs.existsSync(stale)).toBe(false);
  });

  it('the server killed mid-create: exit 8, no bundle left complete or partial', async () => {
    const bundles = path.join(home, 'rebuild-backups', 'web');
    const before = fs.readdirSync(bundles).sort();
    fs.writeFileSync(path.join(sample.root, 'workspace', 'new-big.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
    const run = clawback(home, ['web', 'snapshot', 'create'], { env });
    // The partial dir appears once the scan is done and before any file is fetched: kill the server then.
    while (!fs.readdirSync(bundles).some((n) => n.endsWith('.partial'))) await new Promise((resolve) => setImmediate(resolve));
    killTree(sshd.pid);
    const result = await run;
    expect(result.exitCode, String(result.stderr)).toBe(8);
    expect(String(result.stderr)).toMatch(/^clawback: sandbox web via ssh:/);
    expect(fs.readdirSync(bundles).sort()).toEqual(before);
  });
});

const noBusybox = busyboxTargetUnavailable();
if (noBusybox !== undefined) console.log(`busybox target tests skipped: ${noBusybox}`);

describe.skipIf(noBusybox !== undefined)('snapshot create through exec: into a busybox-only target (no python3, no sqlite3)', { timeout: 120_000 }, () => {
  let target: BusyboxTarget;
  let home: string;
  let sample: GeneratedHome;
  beforeAll(async () => {
    target = makeBusyboxTarget();
    home = tempDir();
    sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: target.hostPath('/sandbox/.openclaw') });
    const added = await clawback(home, ['sandbox', 'add', 'slim', '--agent', 'openclaw', '--root', '/sandbox/.openclaw', '--via', target.via]);
    expect(added.exitCode, String(added.stderr)).toBe(0);
  });
  afterAll(() => target?.remove());

  it('sandbox check says what the slim target offers and what that means', async () => {
    const checked = await clawback(home, ['sandbox', 'check', 'slim', '--json']);
    expect(checked.exitCode, String(checked.stderr)).toBe(0);
    const check = json<{ check: Record<string, unknown> & { tools: Record<string, boolean> } }>(checked).check;
    expect(check).toMatchObject({ tar: 'busybox', databases: 'raw', snapshots: true, restores: true, rootExists: true });
    expect([check.tools.find, check.tools.sha256sum, check.tools.python3, check.tools.sqlite3]).toEqual([true, true, false, false]);
    expect(String((await clawback(home, ['sandbox', 'check', 'slim'])).stdout)).toContain('captured without SQLite in the sandbox');
    const found = await clawback(home, ['discover', '--via', target.via, '--json']);
    expect(json<{ found: unknown[] }>(found).found).toEqual([{ name: 'openclaw', agent: 'openclaw', root: '/sandbox/.openclaw', via: target.via, registeredAs: 'slim' }]);
  });

  it('copies a WAL database under a writer raw with its -wal, makes it self-contained here, and says so', async () => {
    const db = sample.databases[0]!;
    const { process: writer } = await startWriter(db);
    const before = rowCount(db);
    const created = await clawback(home, ['slim', 'snapshot', 'create']);
    const createdJson = await clawback(home, ['slim', 'snapshot', 'create', '--json']);
    writer.kill('SIGTERM');
    await writer;
    expect(created.exitCode, String(created.stderr)).toBe(0);
    expect(String(created.stdout)).toContain('captured without SQLite in the sandbox');
    const doc = json<CreateDoc>(createdJson).snapshot;
    const rel = path.relative(sample.root, db);
    expect(doc.capturedWithoutSqlite).toContain(rel);
    const copy = path.join(doc.dir, 'payload', rel);
    expect(quickCheckOk(copy)).toBe(true);
    expect(rowCount(copy)).toBeGreaterThanOrEqual(before);
    expect(fs.existsSync(`${copy}-wal`)).toBe(false);
    // Diff against the live state runs in the target: only the database the writer kept writing may show, as changed.
    const diff = await clawback(home, ['slim', 'snapshot', 'diff', 'latest', '--json']);
    expect(diff.exitCode, String(diff.stderr)).toBe(0);
    const diffDoc = json<{ added: unknown[]; removed: unknown[]; changed: Array<{ path: string }> }>(diff);
    expect([diffDoc.added, diffDoc.removed]).toEqual([[], []]);
    for (const item of diffDoc.changed) expect(item.path).toBe(rel);
    await clawback(home, ['sandbox', 'set', 'slim', '--hook-recreate', 'true']);
    const rebuild = await clawback(home, ['slim', 'rebuild', '--yes', '--json']);
    // Rebuild runs in the target: a recreate hook that lays down nothing is refused and the old root is put back there.
    expect(rebuild.exitCode).toBe(5);
    expect(JSON.parse(String(rebuild.stderr)).message).toContain('exited 0 but left no directory at /sandbox/.openclaw');
    expect(fs.readdirSync(path.dirname(sample.root)).filter((n) => n.includes('.clawback-'))).toEqual([]);
    expect(fs.existsSync(sample.root)).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(doc.dir, 'rebuild-manifest.json'), 'utf8')) as { origin?: Record<string, string> };
    expect(manifest.origin?.capturedWithoutSqlite?.split('\n')).toContain(rel);
    // Everything else is byte-exact.
    const plain = expectPayloadMatches(path.join(doc.dir, 'payload'), sample.root, (a, b, what) => {
      if (what !== rel) expect(a, what).toEqual(b);
    });
    expect(plain).toBeGreaterThan(50);
  });

  it('a tool missing in the target is exit 8 naming it', async () => {
    // busybox runs its applets even without their links: a target whose PATH has no find is a plain sh with an empty PATH.
    const empty = tempDir();
    await clawback(home, ['sandbox', 'add', 'bare', '--agent', 'openclaw', '--root', '/sandbox/.openclaw', '--via', `exec:env PATH=${empty} /bin/sh -c`]);
    const created = await clawback(home, ['bare', 'snapshot', 'create']);
    expect(created.exitCode).toBe(8);
    const checked = await clawback(home, ['sandbox', 'check', 'bare', '--json']);
    expect(checked.exitCode).toBe(8);
    expect(json<{ check: { snapshots: boolean; notes: string[] } }>(checked).check).toMatchObject({ snapshots: false, notes: expect.arrayContaining([expect.stringMatching(/^snapshots cannot run: missing tar, find, stat/)]) });
    expect(String(created.stderr)).toMatch(/^clawback: sandbox bare via exec:env PATH=.*: find is missing in the target \(running `find \/sandbox\/\.openclaw -print0 \| xargs -0 stat`\)\nhint: install it there/);
  });
});
