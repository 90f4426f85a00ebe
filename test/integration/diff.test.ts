import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../src/engine/deps.js';
import { diffSnapshots, type DiffSummary } from '../../src/engine/inspect/diff.js';
import { createSnapshot } from '../../src/engine/capture/create.js';
import { sandboxDir } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

const SB = 'oc';
let fx: LifecycleFixture;
let deps: EngineDeps;

function live(rel: string): string {
  return path.join(fx.root, ...rel.split('/'));
}

function paths(summary: DiffSummary): { added: string[]; removed: string[]; changed: string[] } {
  return { added: summary.added.map((i) => i.path), removed: summary.removed.map((i) => i.path), changed: summary.changed.map((i) => i.path) };
}

beforeEach(() => {
  fx = lifecycleFixture();
  deps = testDeps(fx.home);
  registerOpenClaw(deps, SB, fx.root);
});

afterEach(() => fx.cleanup());

describe('diffSnapshots against the live state', () => {
  it('finds nothing right after a snapshot; a database whose file moved is compared through a fresh copy', async () => {
    const id = await snapshot(deps, SB);
    const quiet = await diffSnapshots({ sandbox: SB, from: id }, deps);
    expect(paths(quiet)).toEqual({ added: [], removed: [], changed: [] });
    expect(quiet.hashedFiles).toBe(0);

    // A new mtime on the database (content untouched): backed up again and hashed, the same bytes, so no change.
    const db = path.join(fx.root, 'memory', 'main.sqlite');
    fs.utimesSync(db, new Date('2031-01-01T00:00:00Z'), new Date('2031-01-01T00:00:00Z'));
    const touched = await diffSnapshots({ sandbox: SB, from: id }, deps);
    expect(paths(touched)).toEqual({ added: [], removed: [], changed: [] });
    expect(touched.hashedFiles).toBe(1);
    expect(fs.readdirSync(sandboxDir(fx.home, SB)).filter((n) => n.startsWith('.diff-'))).toEqual([]);
  });

  it('hashes a file only when its size is equal and its mtime is not', async () => {
    const id = await snapshot(deps, SB);
    const soul = live('workspace/SOUL.md');
    const original = fs.readFileSync(soul);
    const later = new Date('2031-05-05T00:00:00Z');
    fs.utimesSync(live('workspace/MEMORY.md'), later, later);
    const flipped = Buffer.from(original);
    flipped[0] = flipped[0]! ^ 0x20;
    fs.writeFileSync(soul, flipped);
    fs.utimesSync(soul, later, later);
    fs.appendFileSync(live('workspace/AGENTS.md'), 'longer');

    const summary = await diffSnapshots({ sandbox: SB, from: id }, deps);
    expect(summary.changed.map((i) => [i.path, i.changes])).toEqual([
      ['workspace/AGENTS.md', ['content']],
      ['workspace/SOUL.md', ['content']],
    ]);
    // Read: MEMORY.md and SOUL.md (same size, new mtime); AGENTS.md differs in size, so it is not.
    expect(summary.hashedFiles).toBe(2);
    expect(summary.changed[1]!.before).toMatchObject({ type: 'file', size: original.length });
  });

  it('compares within the snapshot scope: --only and --exclude paths never show', async () => {
    const only = await createSnapshot({ sandbox: SB, scope: { only: ['workspaces'], excludes: ['workspace/memory/**'] } }, deps);
    fs.writeFileSync(live('cron/jobs.json'), '[]');
    fs.writeFileSync(live('workspace/memory/new-day.md'), 'excluded by the snapshot');
    fs.writeFileSync(live('workspace/NEW.md'), 'in scope');
    const db = new Database(path.join(fx.root, 'memory', 'main.sqlite'));
    db.exec('CREATE TABLE out_of_scope (x)');
    db.close();
    const summary = await diffSnapshots({ sandbox: SB, from: only.timestamp }, deps);
    expect(paths(summary)).toEqual({ added: ['workspace/NEW.md'], removed: [], changed: [] });
  });
});

describe('diffSnapshots between snapshots', () => {
  it('reports a type change and a database change from the manifests alone', async () => {
    const first = await snapshot(deps, SB);
    fs.rmSync(live('workspace/USER.md'));
    fs.mkdirSync(live('workspace/USER.md'));
    const db = new Database(path.join(fx.root, 'memory', 'main.sqlite'));
    db.exec('CREATE TABLE added_later (x); INSERT INTO added_later VALUES (1)');
    db.close();
    const second = await snapshot(deps, SB);
    const summary = await diffSnapshots({ sandbox: SB, from: first, to: second }, deps);
    expect(summary.changed.map((i) => [i.path, i.changes])).toEqual([
      ['memory/main.sqlite', ['content']],
      ['workspace/USER.md', ['type']],
    ]);
    expect(summary.hashedFiles).toBe(0);
    expect(summary.to).toMatchObject({ kind: 'snapshot', id: second, version: 2 });
  });
});
