import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { restoreSnapshot } from '../../src/engine/restore/restore.js';
import { addSandbox, setSandbox } from '../../src/engine/sandbox/sandbox.js';
import { createSnapshot } from '../../src/engine/capture/create.js';
import { recoverInterruptedWork } from '../../src/engine/recovery.js';
import { journalPath, writeJournal } from '../../src/store/journal.js';
import { acquireLock } from '../../src/store/lock.js';
import { testDeps, testLockHost } from '../helpers/deps.js';
import { restoreLeftovers } from '../helpers/restore.js';
import { treeDigest } from '../helpers/tree.js';

let dir: string;
let root: string;
/** The generated databases, relative to the root. */
let databases: string[];
let deps: EngineDeps;
let warnings: string[];

function makeDeps(fault?: (point: string) => void): EngineDeps {
  return testDeps(path.join(dir, 'home'), { warnings, ...(fault ? { fault } : {}) });
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-restore-int-'));
  warnings = [];
  deps = makeDeps();
  const generated = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(dir, 'state') });
  root = generated.root;
  databases = generated.databases.map((db) => path.relative(root, db));
  addSandbox('oc', { agent: 'openclaw', root }, dir, deps);
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (rel: string, text: string): void => fs.writeFileSync(path.join(root, rel), text);
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');
const mode = (rel: string): number => fs.lstatSync(path.join(root, rel)).mode & 0o777;

describe('restoreSnapshot', () => {
  it('rolls back in-process when the swap fails after live was moved aside', async () => {
    await createSnapshot({ sandbox: 'oc', scope: {} }, deps);
    write('workspace/SOUL.md', 'changed\n');
    const before = treeDigest(root);
    const failing = makeDeps((point) => {
      if (point === 'restore:renamed-live-0') throw new Error('disk on fire');
    });
    await expect(restoreSnapshot({ sandbox: 'oc', noPreRestore: true, confirmed: true }, failing)).rejects.toThrow('disk on fire');
    expect(treeDigest(root)).toEqual(before);
    expect(restoreLeftovers(root)).toEqual([]);
    expect(fs.existsSync(journalPath(deps.layout, 'oc'))).toBe(false);
  });

  it('restores only what a partial bundle holds, and never deletes the modules it lacks', async () => {
    await createSnapshot({ sandbox: 'oc', scope: { only: ['sessions'] } }, deps);
    const sessions = path.join(root, 'agents/main/sessions');
    const session = path.join('agents/main/sessions', fs.readdirSync(sessions).filter((n) => n.endsWith('.jsonl')).sort()[0]!);
    const original = read(session);
    write(session, 'overwritten\n');
    write('agents/main/sessions/extra.jsonl', '{}\n');
    write('workspace/SOUL.md', 'changed outside the bundle\n');

    // Named: a bare restore (`latest`) never picks a partial snapshot (see snapshot-ids-scope.test.ts).
    const summary = await restoreSnapshot({ sandbox: 'oc', selector: 'v1', noPreRestore: true, confirmed: true }, deps);
    // The sessions module holds the agent's database too; a database always comes back through the backup API.
    expect(summary.paths.replaced).toEqual(['agents/main/agent/openclaw-agent.sqlite', session]);
    // The live database's -wal/-shm go with the content it replaces.
    expect(summary.paths.removed.filter((p) => !/\.sqlite-(wal|shm)$/.test(p))).toEqual(['agents/main/sessions/extra.jsonl']);
    expect(read(session)).toBe(original);
    expect(fs.existsSync(path.join(sessions, 'extra.jsonl'))).toBe(false);
    expect(read('workspace/SOUL.md')).toBe('changed outside the bundle\n');
    await expect(restoreSnapshot({ sandbox: 'oc', selector: 'v1', only: ['workspaces'], dryRun: true }, deps)).rejects.toThrow(/does not hold module "workspaces"/);
    await expect(restoreSnapshot({ sandbox: 'oc', only: ['workspaces'], dryRun: true }, deps)).rejects.toThrow(/has no snapshot that holds module workspaces/);
  });

  it('keeps user-managed files that exist, brings back missing ones, and gives secrets 0700/0600', async () => {
    write('.mcp.json', '{"servers":["snapshot"]}\n');
    fs.chmodSync(path.join(root, 'credentials/whatsapp'), 0o755);
    fs.chmodSync(path.join(root, 'credentials/oauth.json'), 0o644);
    await createSnapshot({ sandbox: 'oc', scope: {} }, deps);
    write('.mcp.json', '{"servers":["edited by the user"]}\n');

    await restoreSnapshot({ sandbox: 'oc', noPreRestore: true, confirmed: true }, deps);
    expect(read('.mcp.json')).toBe('{"servers":["edited by the user"]}\n');
    expect(mode('credentials')).toBe(0o700);
    expect(mode('credentials/whatsapp')).toBe(0o700);
    expect(mode('credentials/oauth.json')).toBe(0o600);

    fs.rmSync(path.join(root, '.mcp.json'));
    await restoreSnapshot({ sandbox: 'oc', noPreRestore: true, confirmed: true }, deps);
    expect(read('.mcp.json')).toBe('{"servers":["snapshot"]}\n');
  });

  it('swaps the real directory when the root is reached through a symlink', async () => {
    await createSnapshot({ sandbox: 'oc', scope: {} }, deps);
    const link = path.join(dir, 'root-link');
    fs.symlinkSync(root, link);
    setSandbox('oc', { root: link }, dir, deps);
    write('workspace/SOUL.md', 'changed\n');
    await restoreSnapshot({ sandbox: 'oc', noPreRestore: true, confirmed: true }, deps);
    expect(restoreLeftovers(root)).toEqual([]);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(read('workspace/SOUL.md')).not.toBe('changed\n');
  });

  it('links live files that still hash to the manifest, and restores one changed in place with the same size and mtime', async () => {
    await createSnapshot({ sandbox: 'oc', scope: {} }, deps);
    const unchanged = path.join(root, 'workspace/AGENTS.md');
    const inode = fs.statSync(unchanged).ino;
    const sneaky = path.join(root, 'workspace/MEMORY.md');
    const original = fs.readFileSync(sneaky);
    const { mtime } = fs.statSync(sneaky);
    const flipped = Buffer.from(original);
    flipped[0] = flipped[0]! ^ 0x20;
    fs.writeFileSync(sneaky, flipped);
    fs.utimesSync(sneaky, mtime, mtime);

    const summary = await restoreSnapshot({ sandbox: 'oc', noPreRestore: true, confirmed: true }, deps);
    // Databases are always put back through the backup API; of the files, only the one changed.
    expect(summary.paths.replaced.filter((p) => !databases.includes(p))).toEqual(['workspace/MEMORY.md']);
    expect(fs.readFileSync(sneaky).equals(original)).toBe(true);
    expect(fs.statSync(unchanged).ino).toBe(inode);
  });

  it('refuses --no-pre-restore over existing state without confirmation', async () => {
    await createSnapshot({ sandbox: 'oc', scope: {} }, deps);
    await expect(restoreSnapshot({ sandbox: 'oc', noPreRestore: true }, deps)).rejects.toMatchObject({ code: 'confirmation-missing', exitCode: 5 });
  });
});

describe('recoverInterruptedWork', () => {
  it('leaves a journal alone while a live process holds the sandbox lock', async () => {
    const staged = `${root}.clawback-stage-x`;
    fs.mkdirSync(staged);
    writeJournal(deps.layout, {
      version: 1,
      sandbox: 'oc',
      state: 'staging',
      bundle: '',
      pairs: [{ live: root, staged, old: `${root}.clawback-old-x`, liveExisted: true }],
      registry: { policyPresets: [], customPolicies: [] },
      createdAt: new Date().toISOString(),
    });
    const lock = acquireLock(deps.layout.locks, 'oc', { host: testLockHost(), command: 'test' });
    try {
      expect((await recoverInterruptedWork(deps)).map((o) => o.action)).toEqual(['skipped-busy']);
      expect(fs.existsSync(staged)).toBe(true);
    } finally {
      lock.release();
    }
    expect((await recoverInterruptedWork(deps)).map((o) => o.action)).toEqual(['rolled-back']);
    expect(fs.existsSync(staged)).toBe(false);
    expect(fs.existsSync(root)).toBe(true);
    expect(fs.existsSync(journalPath(deps.layout, 'oc'))).toBe(false);
  });

  it('moves aside, never deletes, a tree at live that the restore did not stage', async () => {
    const old = `${root}.clawback-old-x`;
    fs.renameSync(root, old);
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'written-by-the-agent.txt'), 'keep me\n');
    writeJournal(deps.layout, {
      version: 1,
      sandbox: 'oc',
      state: 'swapping',
      bundle: '',
      pairs: [{ live: root, staged: `${root}.clawback-stage-x`, old, liveExisted: true, stagedId: { dev: 1, ino: 1 } }],
      registry: { policyPresets: [], customPolicies: [] },
      createdAt: new Date().toISOString(),
    });
    await recoverInterruptedWork(deps);
    expect(fs.existsSync(path.join(root, 'openclaw.json'))).toBe(true);
    const aside = restoreLeftovers(root);
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/\.clawback-conflict-/);
    expect(fs.readFileSync(path.join(path.dirname(root), aside[0]!, 'written-by-the-agent.txt'), 'utf8')).toBe('keep me\n');
    expect(warnings.some((w) => w.includes('moved to'))).toBe(true);
  });
});

// The worker file only exists in the build, so this test loads the built module.
const LIVE_HASH_BUILT = '../../dist/src/engine/restore/live-hash.js';

describe('startLiveHashing (built worker)', () => {
  it('checks large live files in a worker thread: a match, a changed file, a missing one', async () => {
    const { startLiveHashing } = (await import(LIVE_HASH_BUILT)) as typeof import('../../src/engine/restore/live-hash.js');
    const { createHash } = await import('node:crypto');
    const big = path.join(dir, 'big.bin');
    const data = Buffer.alloc(40 * 1024 * 1024, 7);
    fs.writeFileSync(big, data);
    const changed = path.join(dir, 'changed.bin');
    fs.writeFileSync(changed, 'abc');
    const stat = (file: string): fs.Stats => fs.statSync(file);
    const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
    const hashing = startLiveHashing([
      { path: big, size: data.length, live: { mtimeMs: stat(big).mtimeMs, mode: stat(big).mode & 0o777 }, sha256: sha(data) },
      { path: changed, size: 3, live: { mtimeMs: stat(changed).mtimeMs, mode: stat(changed).mode & 0o777 }, sha256: sha('abd') },
      { path: path.join(dir, 'missing.bin'), size: 3, live: { mtimeMs: 0, mode: 0o644 }, sha256: sha('abc') },
    ]);
    expect(hashing.mode).toBe('worker');
    expect([...(await hashing.results())]).toEqual([1, 0, 0]);
  });
});
