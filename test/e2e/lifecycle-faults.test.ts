import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../src/engine/deps.js';
import { bundleIds, sandboxDir } from '../helpers/bundles.js';
import { clawback, json } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';
import { holdSandboxLock } from '../helpers/hooks.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

interface VerifyDoc {
  ok: boolean;
  bundles: Array<{ id: string; ok: boolean; problems: Array<{ path: string; problem: string }> }>;
  inProgress: string[];
}

let fx: LifecycleFixture;
let deps: EngineDeps;
const SB = 'oc';

beforeEach(() => {
  fx = lifecycleFixture('clawback-lifecycle-faults-');
  deps = testDeps(fx.home);
  registerOpenClaw(deps, SB, fx.root);
});

afterEach(() => fx.cleanup());

describe('verify --all while a create is writing', () => {
  it('a .partial whose sandbox lock a live process holds is in progress (exit 0); once the holder is gone it is damage (exit 6)', async () => {
    const first = await snapshot(deps, SB);
    const partial = '2099-01-01T00-00-00-000Z.partial';
    fs.mkdirSync(path.join(sandboxDir(fx.home, SB), partial, 'payload', 'workspace'), { recursive: true });
    fs.writeFileSync(path.join(sandboxDir(fx.home, SB), partial, 'payload', 'workspace', 'half.md'), 'half written');

    const release = holdSandboxLock(fx.home, SB);
    try {
      const during = await clawback(fx.home, [SB, 'snapshot', 'verify', '--all', '--json']);
      expect(during.exitCode, String(during.stderr)).toBe(0);
      const doc = json<VerifyDoc>(during);
      expect(doc.ok).toBe(true);
      expect(doc.bundles.map((b) => [b.id, b.ok])).toEqual([[first, true]]);
      expect(doc.inProgress).toEqual([partial]);
      const text = await clawback(fx.home, [SB, 'snapshot', 'verify', '--all']);
      expect(text.exitCode, String(text.stderr)).toBe(0);
      expect(String(text.stdout)).toContain(`${partial}: in progress`);
    } finally {
      release();
    }

    const after = await clawback(fx.home, [SB, 'snapshot', 'verify', '--all', '--json']);
    expect(after.exitCode).toBe(6);
    expect(json<VerifyDoc>(after).bundles.map((b) => [b.id, b.ok])).toEqual([
      [first, true],
      [partial, false],
    ]);
  });
});
