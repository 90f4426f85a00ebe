import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeNemoClawBundle } from '../../fixtures/nemoclaw-bundle.js';
import { ClawbackError } from '../../src/errors.js';
import { nemoclawInventory, walkNemoClawBundle } from '../../src/engine/bundle/nemoclaw.js';
import { isNemoClawManifest, parseNemoClawManifest } from '../../src/manifest/nemoclaw-manifest.js';
import { listBundles } from '../../src/store/bundles.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function temp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemoclaw-unit-'));
  dirs.push(dir);
  return dir;
}

const BASE = { version: 1, sandboxName: 'box', timestamp: '2026-05-02T10-15-00-123Z', agentType: 'openclaw', stateDirs: ['workspace'], dir: '/sandbox/.openclaw' };

function parseError(raw: Record<string, unknown>): ClawbackError {
  try {
    parseNemoClawManifest(raw, 'rebuild-manifest.json');
  } catch (error) {
    if (error instanceof ClawbackError) return error;
    throw error;
  }
  throw new Error('parsed');
}

describe('NemoClaw manifest', () => {
  it('is told apart from clawback manifests', () => {
    expect(isNemoClawManifest(BASE)).toBe(true);
    expect(isNemoClawManifest({ ...BASE, format: 'clawback-bundle/1' })).toBe(false);
    expect(isNemoClawManifest({ ...BASE, entries: [] })).toBe(false);
  });

  it('reads the fields NemoClaw wrote, older writableDir included', () => {
    const m = parseNemoClawManifest({ ...BASE, dir: undefined, writableDir: '/sandbox/.openclaw-data', stateFiles: [{ path: 'openclaw.json', strategy: 'copy' }], name: 'x' }, 'f');
    expect(m).toMatchObject({ dir: '/sandbox/.openclaw-data', backedUpDirs: undefined, name: 'x', stateFiles: [{ path: 'openclaw.json', strategy: 'copy' }], backupComplete: true });
  });

  it.each([
    ['an absolute state dir', { stateDirs: ['/etc'] }, 'unsafe-entry-path', /is absolute/],
    ['a state dir with ..', { stateDirs: ['../outside'] }, 'unsafe-entry-path', /contains '\.\.'/],
    ['a state file with ..', { stateFiles: [{ path: 'a/../../b', strategy: 'copy' }] }, 'unsafe-entry-path', /contains '\.\.'/],
    ['a state file naming the manifest', { stateFiles: [{ path: 'rebuild-manifest.json', strategy: 'copy' }] }, 'unsafe-entry-path', /manifest itself/],
    ['an unknown strategy', { stateFiles: [{ path: 'a.db', strategy: 'rsync' }] }, 'malformed-manifest', /unknown strategy/],
    ['stateDirs not a list', { stateDirs: 'workspace' }, 'malformed-manifest', /not a list/],
    ['a version NemoClaw wrote later', { version: 2 }, 'unsupported-bundle', /version 2 is not supported/],
    ['no version', { version: undefined }, 'unsupported-bundle', /version undefined/],
    ['no timestamp', { timestamp: 7 }, 'malformed-manifest', /timestamp missing/],
    ['a state file inside a state dir', { stateFiles: [{ path: 'workspace/x', strategy: 'copy' }] }, 'unsafe-entry-path', /overlaps/],
  ])('refuses %s with a clear error', (_what, change, code, message) => {
    const error = parseError({ ...BASE, ...change });
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.exitCode).toBe(6);
  });
});

describe('NemoClaw bundle adapter', () => {
  it('lists a hostile bundle as corrupt, never crashing the listing', () => {
    const home = temp();
    const good = writeNemoClawBundle(home, { sandbox: 'box', agent: 'openclaw' });
    const bad = path.join(path.dirname(good.dir), '2026-06-01T00-00-00-000Z');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'rebuild-manifest.json'), JSON.stringify({ ...BASE, stateDirs: ['../../etc'] }));
    const records = listBundles(path.dirname(good.dir));
    expect(records.map((r) => [r.state, r.legacy !== undefined, r.version])).toEqual([
      ['complete', true, 1],
      ['corrupt', false, undefined],
    ]);
    expect(records[1]!.problem?.message).toMatch(/contains '\.\.'/);
    expect(records[0]!.payloadDir).toBe(good.dir);
  });

  it('synthesises an inventory with hashes, databases and no manifest entry', () => {
    const home = temp();
    const written = writeNemoClawBundle(home, { sandbox: 'box', agent: 'hermes' });
    const [record] = listBundles(path.dirname(written.dir));
    const manifest = nemoclawInventory(written.dir, record!.header!, record!.legacy!, () => ({ module: 'other', agent: undefined }));
    const files = manifest.entries.filter((e) => e.type === 'file');
    expect(files.map((e) => e.path).sort()).toEqual([...written.files.keys()].sort());
    expect(files.every((e) => /^[0-9a-f]{64}$/.test(e.sha256 ?? ''))).toBe(true);
    expect(files.filter((e) => e.strategy === 'sqlite_backup').map((e) => e.path)).toEqual(['runtime/state.db']);
    expect(manifest.scope.paths).toEqual(['memories', 'sessions', 'skills', 'cron', 'SOUL.md', 'runtime/state.db', 'kanban.db']);
  });

  it('reports hard links, special files and a covered path below a symlink', () => {
    const home = temp();
    const written = writeNemoClawBundle(home, { sandbox: 'box', agent: 'hermes' });
    fs.linkSync(path.join(written.dir, 'memories/USER.md'), path.join(home, 'outside-link'));
    fs.rmSync(path.join(written.dir, 'runtime'), { recursive: true });
    fs.symlinkSync(home, path.join(written.dir, 'runtime'));
    const [record] = listBundles(path.dirname(written.dir));
    const tree = walkNemoClawBundle(written.dir, record!.legacy!, { hash: false });
    expect(tree.problems.map((p) => p.path).sort()).toEqual(['memories/USER.md', 'runtime/state.db']);
    expect(() => nemoclawInventory(written.dir, record!.header!, record!.legacy!, () => ({ module: 'other', agent: undefined }))).toThrow(/2 path\(s\) clawback will not read/);
  });
});
