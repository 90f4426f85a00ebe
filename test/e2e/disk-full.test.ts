import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { treeDigest } from '../helpers/tree.js';
import { expectUserError, mountTmpfs, tmpfsUnavailable, unmount } from '../helpers/os-user.js';

/**
 * A full disk is a user error: one line naming the filesystem and the room needed, exit 5 when
 * nothing was written, and nothing half-written left behind. Each case fills a small tmpfs the
 * test mounts itself (root only; skipped with the reason otherwise).
 */

let base: string;
let root: string;
let small: string;
const probe = (): string => path.join(base, 'probe');

beforeAll(() => {
  base = tempDir('clawback-disk-full-');
  root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') }).root;
  small = path.join(base, 'small');
  fs.mkdirSync(probe());
});

afterEach(() => {
  unmount(small);
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/** Writes a filler file until only about `leaveBytes` are free (0: completely full). */
function fill(dir: string, leaveBytes: number): string {
  const filler = path.join(dir, 'filler');
  const chunk = Buffer.alloc(16 * 1024, 7);
  const fd = fs.openSync(filler, 'w');
  try {
    for (;;) {
      const stats = fs.statfsSync(dir);
      const free = stats.bavail * stats.bsize;
      if (free <= leaveBytes) break;
      try {
        fs.writeSync(fd, chunk, 0, Math.min(chunk.length, Math.max(stats.bsize, free - leaveBytes)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

/** Creates empty files until no inode is left, then frees `spare` of them. */
function exhaustInodes(dir: string, spare: number): void {
  const holder = path.join(dir, 'inodes');
  fs.mkdirSync(holder);
  let made = 0;
  for (;;) {
    try {
      fs.writeFileSync(path.join(holder, String(made)), '');
      made++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
      throw error;
    }
  }
  for (let i = 1; i <= spare; i++) fs.rmSync(path.join(holder, String(made - i)));
}

async function registeredHome(): Promise<string> {
  const home = path.join(small, 'home');
  const added = await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
  return home;
}

function bundleEntries(home: string): string[] {
  const dir = path.join(home, 'rebuild-backups', 'oc');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.space')) : [];
}

async function expectNoSnapshots(home: string): Promise<void> {
  const listed = await clawback(home, ['oc', 'snapshot', 'list', '--json']);
  expect(listed.exitCode, String(listed.stderr)).toBe(0);
  expect(json<{ snapshots: unknown[] }>(listed).snapshots).toEqual([]);
  expect(bundleEntries(home)).toEqual([]);
}

const noTmpfs = (() => {
  const dir = tempDir('clawback-tmpfs-probe-');
  try {
    return tmpfsUnavailable(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();

describe.skipIf(noTmpfs !== undefined)(`disk full${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`, () => {
  it('a lock that cannot be written is not left behind: the next command is not "locked by another process"', async () => {
    mountTmpfs(small, 'size=2m');
    const home = await registeredHome();
    const filler = fill(small, 0);
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await clawback(home, ['oc', 'snapshot', 'create']);
      const line = expectUserError(result, 5, path.join(home, 'locks', 'oc.lock'), `attempt ${attempt}`);
      expect(line).toContain(`no space left on the filesystem at ${small}`);
      expect(fs.readdirSync(path.join(home, 'locks'))).toEqual([]);
    }
    fs.rmSync(filler);
    const created = await clawback(home, ['oc', 'snapshot', 'create']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    expect(fs.readdirSync(path.join(home, 'locks'))).toEqual([]);
  });

  it('create that runs out of space while copying: exit 5 naming the filesystem and the room needed, no .partial left', async () => {
    mountTmpfs(small, 'size=2m');
    const home = await registeredHome();
    const filler = fill(small, 96 * 1024);
    const result = await clawback(home, ['oc', 'snapshot', 'create']);
    const line = expectUserError(result, 5, path.join(home, 'rebuild-backups', 'oc'));
    expect(line).toMatch(new RegExp(`no space left on the filesystem at ${small} .*\\(\\d.* free, up to \\d.* needed\\)`));
    expect(String(result.stderr)).toContain('hint: nothing was written');
    await expectNoSnapshots(home);
    fs.rmSync(filler);
    expect((await clawback(home, ['oc', 'snapshot', 'create'])).exitCode).toBe(0);
  });

  it('create that runs out of inodes: exit 5 saying so, no .partial left', async () => {
    mountTmpfs(small, 'size=8m,nr_inodes=200');
    const home = await registeredHome();
    exhaustInodes(small, 8);
    const result = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
    expect(result.exitCode, String(result.stderr)).toBe(5);
    const doc = JSON.parse(String(result.stderr)) as Record<string, unknown>;
    expect(doc).toMatchObject({ code: 'no-space', exitCode: 5 });
    expect(String(doc.message)).toMatch(new RegExp(`no inodes left on the filesystem at ${small} .*\\(\\d+ inodes free, up to \\d+ needed\\)`));
    expect(String(doc.hint)).not.toBe('');
    await expectNoSnapshots(home);
  });

  it('export into a full filesystem: exit 5 naming it, no archive or temp file left', async () => {
    const home = path.join(base, 'home');
    expect((await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root])).exitCode).toBe(0);
    expect((await clawback(home, ['oc', 'snapshot', 'create'])).exitCode).toBe(0);
    mountTmpfs(small, 'size=1m');
    fill(small, 16 * 1024);
    const output = path.join(small, 'oc.tar');
    const result = await clawback(home, ['oc', 'snapshot', 'export', 'latest', '-o', output, '--format', 'tar']);
    const line = expectUserError(result, 5, output);
    expect(line).toContain(`no space left on the filesystem at ${small}`);
    expect(fs.readdirSync(small)).toEqual(['filler']);
  });
  it('import into a full home: exit 5 naming the filesystem, no bundle and no scratch left', async () => {
    const source = path.join(base, 'export-home');
    expect((await clawback(source, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root])).exitCode).toBe(0);
    expect((await clawback(source, ['oc', 'snapshot', 'create'])).exitCode).toBe(0);
    const archive = path.join(base, 'oc.tar.gz');
    expect((await clawback(source, ['oc', 'snapshot', 'export', 'latest', '-o', archive, '--format', 'tar.gz', '--include-secrets'])).exitCode).toBe(0);
    mountTmpfs(small, 'size=2m');
    const home = await registeredHome();
    fill(small, 64 * 1024);
    const result = await clawback(home, ['oc', 'snapshot', 'import', archive]);
    const line = expectUserError(result, 5, path.join(home, 'rebuild-backups', 'oc'));
    expect(line).toContain(`no space left on the filesystem at ${small}`);
    await expectNoSnapshots(home);
  });

  it('restore whose state root sits on a full filesystem: exit 5 naming it, the live state as it was, nothing staged left', async () => {
    const home = path.join(base, 'restore-home');
    mountTmpfs(small, 'size=24m');
    const live = path.join(small, 'openclaw');
    fs.cpSync(root, live, { recursive: true, verbatimSymlinks: true });
    expect((await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', live])).exitCode).toBe(0);
    expect((await clawback(home, ['oc', 'snapshot', 'create'])).exitCode).toBe(0);
    // Every file changed: the restore has to write them all beside the live tree.
    for (const [rel, item] of Object.entries(treeDigest(live))) {
      if (item.startsWith('file') && !rel.endsWith('.sqlite') && !rel.includes('.sqlite-')) fs.appendFileSync(path.join(live, rel), 'changed');
    }
    const before = treeDigest(live);
    fill(small, 32 * 1024);
    const result = await clawback(home, ['oc', 'snapshot', 'restore', 'latest', '--yes', '--no-pre-restore']);
    const line = expectUserError(result, 5, small);
    expect(line).toContain(`no space left on the filesystem at ${small}`);
    expect(treeDigest(live)).toEqual(before);
    expect(fs.readdirSync(small).sort()).toEqual(['filler', 'openclaw']);
    expect(fs.readdirSync(path.join(home, 'journal'))).toEqual([]);
  });
});
