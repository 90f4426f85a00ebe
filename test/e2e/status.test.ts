import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { holdSandboxLock, writeSmallHome } from '../helpers/hooks.js';

interface StatusDoc {
  maxAgeMs: number | null;
  sandboxes: Array<{
    sandbox: string;
    lastSnapshot: { timestamp: string; name: string | null } | null;
    ageMs: number | null;
    lastSuccess: { at: string; command: string; snapshot: string; label: string | null } | null;
    lastFailure: { at: string; command: string; code: string; exitCode: number; message: string } | null;
    snapshots: number;
    diskBytes: number;
    stale: boolean;
  }>;
}

const DAY = 86_400_000;

let base: string;
let home: string;

async function register(name: string): Promise<void> {
  writeSmallHome(path.join(base, name), name);
  const added = await clawback(home, ['sandbox', 'add', name, '--agent', 'openclaw', '--root', path.join(base, name)]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
}

/** A snapshot taken three days ago, by the test clock (the bundle's name and the record say so). */
function createThreeDaysAgo(name: string): ReturnType<typeof clawback> {
  return clawback(home, [name, 'snapshot', 'create'], { env: { CLAWBACK_TEST_NOW: new Date(Date.now() - 3 * DAY).toISOString() } });
}

beforeEach(() => {
  base = tempDir('clawback-status-');
  home = path.join(base, 'home');
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('status --max-age', () => {
  it('exits 3 for a stale sandbox, and 0 after a fresh snapshot', async () => {
    await register('alpha');
    expect((await createThreeDaysAgo('alpha')).exitCode).toBe(0);
    const stale = await clawback(home, ['status', '--max-age', '26h']);
    expect(stale.exitCode).toBe(3);
    expect(String(stale.stdout)).toMatch(/^alpha: last snapshot v1 \S+, 3d 0h old  STALE$/m);
    expect(String(stale.stderr)).toContain('no snapshot newer than 26h for: alpha');
    const doc = await clawback(home, ['status', '--max-age', '26h', '--json']);
    expect(doc.exitCode).toBe(3);
    expect(json<StatusDoc>(doc).sandboxes[0]).toMatchObject({ sandbox: 'alpha', stale: true, snapshots: 1 });
    expect(json<StatusDoc>(doc).sandboxes[0]!.ageMs).toBeGreaterThanOrEqual(3 * DAY);

    expect((await clawback(home, ['alpha', 'snapshot', 'create'])).exitCode).toBe(0);
    const fresh = await clawback(home, ['status', '--max-age', '26h']);
    expect(fresh.exitCode, String(fresh.stderr)).toBe(0);
    expect(String(fresh.stdout)).not.toContain('STALE');
    // Without --max-age, nothing is stale.
    expect((await clawback(home, ['status'])).exitCode).toBe(0);
  });

  it('a sandbox without any snapshot is stale; one fresh sandbox does not hide a stale other', async () => {
    await register('alpha');
    await register('bravo');
    expect((await clawback(home, ['alpha', 'snapshot', 'create'])).exitCode).toBe(0);
    const run = await clawback(home, ['status', '--max-age', '90m', '--json']);
    expect(run.exitCode).toBe(3);
    expect(json<StatusDoc>(run).sandboxes.map((s) => [s.sandbox, s.stale, s.lastSnapshot === null])).toEqual([['alpha', false, false], ['bravo', true, true]]);
  });

  it('a bad duration is a usage error; an empty registry is exit 4 with a hint about CLAWBACK_HOME', async () => {
    expect((await clawback(home, ['status', '--max-age', '26 hours'])).exitCode).toBe(2);
    const empty = await clawback(home, ['status', '--max-age', '26h']);
    expect(empty.exitCode).toBe(4);
    expect(String(empty.stderr)).toContain('CLAWBACK_HOME');
    const backup = await clawback(home, ['backup-all']);
    expect(backup.exitCode).toBe(4);
    expect(String(backup.stderr)).toContain('CLAWBACK_HOME');
  });
});

describe('the run record', () => {
  it('create and backup-all record their last success and last failure', async () => {
    await register('alpha');
    expect((await clawback(home, ['alpha', 'snapshot', 'create', '--name', 'one'])).exitCode).toBe(0);
    let doc = json<StatusDoc>(await clawback(home, ['status', '--json']));
    expect(doc.sandboxes[0]!.lastSuccess).toMatchObject({ command: 'snapshot create', label: 'one', snapshot: doc.sandboxes[0]!.lastSnapshot!.timestamp });
    expect(doc.sandboxes[0]!.lastFailure).toBeNull();

    const release = holdSandboxLock(home, 'alpha');
    try {
      expect((await clawback(home, ['alpha', 'snapshot', 'create'])).exitCode).toBe(7);
      expect((await clawback(home, ['backup-all'])).exitCode).toBe(3);
    } finally {
      release();
    }
    doc = json<StatusDoc>(await clawback(home, ['status', '--json']));
    expect(doc.sandboxes[0]!.lastFailure).toMatchObject({ command: 'backup-all', code: 'busy', exitCode: 7 });
    expect(doc.sandboxes[0]!.lastSuccess).toMatchObject({ command: 'snapshot create', label: 'one' });

    expect((await clawback(home, ['backup-all'])).exitCode).toBe(0);
    doc = json<StatusDoc>(await clawback(home, ['status', '--json']));
    expect(doc.sandboxes[0]!.lastSuccess).toMatchObject({ command: 'backup-all', snapshot: doc.sandboxes[0]!.lastSnapshot!.timestamp });
    expect(doc.sandboxes[0]!.snapshots).toBe(2);
    const text = String((await clawback(home, ['status'])).stdout);
    expect(text).toMatch(/^ {2}last success: .* by backup-all$/m);
    expect(text).toMatch(/^ {2}last failure: .* by backup-all: .*/m);
  });

  it('a record that cannot be written is a warning, never a failed backup', async () => {
    await register('alpha');
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'status'), 'not a directory\n');
    const create = await clawback(home, ['alpha', 'snapshot', 'create']);
    expect(create.exitCode, String(create.stderr)).toBe(0);
    expect(String(create.stderr)).toContain('warning: could not record this run of alpha');
    const all = await clawback(home, ['backup-all']);
    expect(all.exitCode).toBe(0);
    expect(String(all.stderr)).toContain('could not record this run of alpha');
    const status = json<StatusDoc>(await clawback(home, ['status', '--json']));
    expect(status.sandboxes[0]).toMatchObject({ snapshots: 2, lastSuccess: null });
  });
});
