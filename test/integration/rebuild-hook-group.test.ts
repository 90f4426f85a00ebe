import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusyError } from '../../src/errors.js';
import { recoverRebuild, writeRebuildRecord, type RebuildRecord } from '../../src/engine/rebuild/journal.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { tempDir } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';
import { treeDigest } from '../helpers/tree.js';

let base: string;
let root: string;
let record: RebuildRecord;

beforeEach(() => {
  base = tempDir('clawback-hook-group-');
  root = path.join(base, 'agent');
  const aside = `${root}.clawback-rebuild-2026-04-21T14-11-25-795Z`;
  fs.mkdirSync(path.join(aside, 'workspace'), { recursive: true });
  fs.writeFileSync(path.join(aside, 'workspace', 'SOUL.md'), 'original\n');
  fs.mkdirSync(path.join(root, 'workspace'), { recursive: true });
  fs.writeFileSync(path.join(root, 'workspace', 'FRESH.md'), 'fresh\n');
  // A dead rebuilding pid on this host: the record is recovery's to settle.
  record = { version: 1, sandbox: 'oc', state: 'moved', root, aside, snapshot: { dir: '', timestamp: '', label: '' }, pid: 2 ** 22 + 1, host: '', createdAt: '', hookGroup: 4242 };
});

afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

/** Deps whose host answers for process group 4242 as `group` says, and whose clock moves a second per reading. */
function depsWith(group: { alive: boolean; stopsOn?: 'SIGTERM' | 'SIGKILL'; signals: string[] }, warnings: string[]): EngineDeps {
  const deps = testDeps(path.join(base, 'home'), { warnings });
  record.host = deps.host.hostname;
  let now = 0;
  return {
    ...deps,
    clock: () => (now += 1000),
    host: {
      ...deps.host,
      groupAlive: (pgid) => pgid === 4242 && group.alive,
      signalGroup: (pgid, signal) => {
        group.signals.push(`${signal} ${pgid}`);
        if (signal === group.stopsOn) group.alive = false;
      },
    },
  };
}

describe('recovery of a rebuild whose recreate hook still runs', () => {
  it('sends SIGTERM, then SIGKILL to the group, and rolls back once it is gone', () => {
    const group = { alive: true, stopsOn: 'SIGKILL' as const, signals: [] as string[] };
    const warnings: string[] = [];
    const deps = depsWith(group, warnings);
    writeRebuildRecord(deps.layout, record);
    expect(recoverRebuild(deps, 'oc')?.action).toBe('rolled-back');
    expect(group.signals).toEqual(['SIGTERM 4242', 'SIGKILL 4242']);
    expect(warnings).toEqual([expect.stringContaining('stopped the recreate hook of oc (process group 4242)')]);
    expect(Object.keys(treeDigest(root))).toEqual(['workspace', 'workspace/SOUL.md']);
  });

  it('reports the sandbox busy and leaves root, old root and record as they are when the group will not stop', () => {
    const group = { alive: true, signals: [] as string[] };
    const warnings: string[] = [];
    const deps = depsWith(group, warnings);
    writeRebuildRecord(deps.layout, record);
    const rootBefore = treeDigest(root);
    const asideBefore = treeDigest(record.aside);
    expect(() => recoverRebuild(deps, 'oc')).toThrow(BusyError);
    expect(group.signals).toEqual(['SIGTERM 4242', 'SIGKILL 4242']);
    expect(warnings.at(-1)).toMatch(/process group 4242\) that an interrupted rebuild left running could not be stopped/);
    expect(treeDigest(root)).toEqual(rootBefore);
    expect(treeDigest(record.aside)).toEqual(asideBefore);
    expect(fs.existsSync(path.join(base, 'home', 'journal', 'rebuild', 'oc.json'))).toBe(true);
  });

  it('signals nothing when the recorded group is already gone', () => {
    const group = { alive: false, signals: [] as string[] };
    const deps = depsWith(group, []);
    writeRebuildRecord(deps.layout, record);
    expect(recoverRebuild(deps, 'oc')?.action).toBe('rolled-back');
    expect(group.signals).toEqual([]);
  });
});
