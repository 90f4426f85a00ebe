import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../src/engine/deps.js';
import { preflightRebuild } from '../../src/engine/rebuild/preflight.js';
import { ClawbackError } from '../../src/errors.js';
import { writeJsonAtomic } from '../../src/store/atomic.js';
import { testDeps } from '../helpers/deps.js';

let base: string;
let root: string;
let deps: EngineDeps;

function register(hooks: Record<string, string>): void {
  fs.mkdirSync(deps.layout.home, { recursive: true });
  writeJsonAtomic(deps.layout.registry, {
    version: 1,
    sandboxes: { oc: { name: 'oc', agent: 'openclaw', root, policyPresets: [], customPolicies: [], hooks, createdAt: '2026-01-01T00:00:00.000Z' } },
  });
}

function refusal(run: () => unknown): ClawbackError {
  try {
    run();
  } catch (error) {
    if (error instanceof ClawbackError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-preflight-'));
  root = path.join(base, 'oc');
  fs.mkdirSync(path.join(root, 'workspace'), { recursive: true });
  fs.writeFileSync(path.join(root, 'workspace', 'a.md'), 'x'.repeat(3000));
  fs.writeFileSync(path.join(root, 'openclaw.json'), '{}\n');
  fs.mkdirSync(path.join(root, 'logs'));
  fs.writeFileSync(path.join(root, 'logs', 'big.log'), 'y'.repeat(50_000));
  deps = testDeps(path.join(base, 'home'));
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('preflightRebuild', () => {
  it('counts only what the snapshot captures, and needs it twice on a filesystem holding both the home and the root', () => {
    register({ recreate: 'true' });
    const seen: string[] = [];
    const result = preflightRebuild('oc', deps, (dir) => {
      seen.push(dir);
      return 1e12;
    });
    // logs/** is excluded by the openclaw manifest.
    expect(result.stateFiles).toBe(2);
    expect(result.stateBytes).toBe(3003);
    expect(result.disk).toHaveLength(1);
    expect(result.disk[0]!.needBytes).toBe(6006);
    // Measured once, at the first existing directory on the way to the bundles.
    expect(seen).toEqual([path.join(base, 'home')]);
  });

  it('refuses when free space is below what it needs, naming the filesystem', () => {
    register({ recreate: 'true' });
    const error = refusal(() => preflightRebuild('oc', deps, () => 6005));
    expect(error.code).toBe('disk-space');
    expect(error.exitCode).toBe(5);
    expect(error.details).toEqual([`${path.join(base, 'home')}: 5.9 KiB free, 5.9 KiB needed`]);
    expect(preflightRebuild('oc', deps, () => 6006).stateBytes).toBe(3003);
  });

  it('refuses without a recreate hook, and before stopping anything when the snapshot would refuse a link', () => {
    register({});
    expect(refusal(() => preflightRebuild('oc', deps, () => 1e12)).code).toBe('recreate-hook-missing');
    register({ recreate: 'true' });
    fs.symlinkSync('/etc/hostname', path.join(root, 'workspace', 'out'));
    const error = refusal(() => preflightRebuild('oc', deps, () => 1e12));
    expect(error.code).toBe('unsafe-links');
    expect(error.details).toEqual(['workspace/out -> /etc/hostname']);
  });

  it('refuses a root that does not exist', () => {
    register({ recreate: 'true' });
    fs.rmSync(root, { recursive: true });
    expect(refusal(() => preflightRebuild('oc', deps, () => 1e12))).toMatchObject({ code: 'root-not-found', exitCode: 4 });
  });
});
