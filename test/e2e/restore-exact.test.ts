import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { openClawFixture, type RestoreFixture } from '../helpers/restore.js';
import { treeDigest } from '../helpers/tree.js';

/** Issue 10, items 18 and 19: a restore looks exact, and says so; an agent that is not there is a usage error. */

interface RestoreDoc {
  restore: { counts: Record<string, number>; paths: Record<string, string[]>; preRestore: unknown };
}
interface DiffItem {
  path: string;
  changes: string[];
}
interface DiffDoc {
  added: DiffItem[];
  removed: DiffItem[];
  changed: DiffItem[];
}

let f: RestoreFixture;
const snapshotCount = async (): Promise<number> => {
  const listed = await f.cli('oc', 'snapshot', 'list', '--json');
  expect(listed.exitCode, String(listed.stderr)).toBe(0);
  return String(listed.stdout).match(/"timestamp"/g)?.length ?? 0;
};

beforeAll(async () => {
  f = await openClawFixture('clawback-restore-exact-');
  // Secrets as a careless user leaves them: a restore tightens them to 0600/0700.
  fs.chmodSync(path.join(f.root, '.env'), 0o644);
  fs.chmodSync(path.join(f.root, 'credentials/oauth.json'), 0o644);
  fs.chmodSync(path.join(f.root, 'credentials'), 0o755);
  const created = await f.cli('oc', 'snapshot', 'create', '--name', 'loose');
  expect(created.exitCode, String(created.stderr)).toBe(0);
});

afterAll(() => f?.cleanup());

describe('secrets tightened by a restore (item 19)', () => {
  it('do not show in diff right after the restore, and a second restore finds them unchanged', async () => {
    const first = await f.cli('oc', 'snapshot', 'restore', 'loose', '--json');
    expect(first.exitCode, String(first.stderr)).toBe(0);
    expect(json<RestoreDoc>(first).restore.paths.replaced).toEqual(expect.arrayContaining(['.env', 'credentials/oauth.json']));
    expect(fs.statSync(path.join(f.root, '.env')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(f.root, 'credentials')).mode & 0o777).toBe(0o700);

    const diff = await f.cli('oc', 'snapshot', 'diff', 'loose', '--json');
    expect(diff.exitCode, String(diff.stderr)).toBe(0);
    const d = json<DiffDoc>(diff);
    const modeChanges = d.changed.filter((c) => c.changes.includes('mode')).map((c) => c.path);
    expect(modeChanges).toEqual([]);
    expect([...d.added, ...d.removed]).toEqual([]);

    const second = await f.cli('oc', 'snapshot', 'restore', 'loose', '--json');
    expect(second.exitCode, String(second.stderr)).toBe(0);
    const counts = json<RestoreDoc>(second).restore.counts;
    expect({ replaced: counts.replaced, added: counts.added, removed: counts.removed }).toEqual({ replaced: 0, added: 0, removed: 0 });
  });
});

describe('a restore that changes nothing (item 18)', () => {
  it('takes no pre-restore snapshot and says "already identical"', async () => {
    const settle = await f.cli('oc', 'snapshot', 'restore', 'loose');
    expect(settle.exitCode, String(settle.stderr)).toBe(0);
    const before = await snapshotCount();
    // Files with their times; directories and symlinks are swapped in anew, so theirs are new.
    const files = (): Record<string, string> => Object.fromEntries(Object.entries(treeDigest(f.root, { times: true })).filter(([, d]) => d.startsWith('file ')));
    const tree = files();

    const again = await f.cli('oc', 'snapshot', 'restore', 'loose');
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(String(again.stdout)).toContain('already identical');
    expect(String(again.stdout)).not.toContain('undo with');
    expect(await snapshotCount()).toBe(before);
    expect(files()).toEqual(tree);

    const asJson = await f.cli('oc', 'snapshot', 'restore', 'loose', '--json');
    expect(json<RestoreDoc>(asJson).restore.preRestore).toBeNull();
    expect(await snapshotCount()).toBe(before);
  });
});

describe('--agent NAME that is not there (item 18)', () => {
  it('is a usage error for restore, listing the agents the snapshot holds', async () => {
    const tree = treeDigest(f.root, { times: true });
    const result = await f.cli('oc', 'snapshot', 'restore', 'loose', '--agent', 'nope');
    expect(result.exitCode, String(result.stderr)).toBe(2);
    expect(String(result.stderr)).toContain('does not hold agent "nope"');
    expect(String(result.stderr)).toMatch(/hint: it holds main, ops, research/);
    expect(treeDigest(f.root, { times: true })).toEqual(tree);
  });

  it('is a usage error for create, listing the agents in the state root, and writes no snapshot', async () => {
    const before = await snapshotCount();
    const result = await f.cli('oc', 'snapshot', 'create', '--agent', 'nope');
    expect(result.exitCode, String(result.stderr)).toBe(2);
    expect(String(result.stderr)).toContain('no agent "nope"');
    expect(String(result.stderr)).toMatch(/hint: its agents: main, ops, research/);
    expect(await snapshotCount()).toBe(before);
    expect((await f.cli('oc', 'snapshot', 'create', '--agent', 'main')).exitCode).toBe(0);
  });
});
