import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportSnapshot } from '../../src/engine/archive/export.js';
import { importArchive } from '../../src/engine/archive/import.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { bundleIds, sandboxDir } from '../helpers/bundles.js';
import { clawback, json } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';
import { holdSandboxLock } from '../helpers/hooks.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

interface ListDoc {
  snapshots: Array<{ id: string; name: string | null; state: string }>;
}

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

/** Every name in the sandbox's bundle dir but the space cache: bundles, partials, and any scratch or deleting dir. */
function onDisk(sandbox: string): string[] {
  return fs.existsSync(sandboxDir(fx.home, sandbox)) ? fs.readdirSync(sandboxDir(fx.home, sandbox)).filter((n) => n !== '.space-cache').sort() : [];
}

/** The one warning line of the sweep, when there is one. */
function sweepLine(stderr: unknown): string | undefined {
  return String(stderr).split('\n').find((l) => l.includes('removed what interrupted commands left in'));
}

async function exported(): Promise<string> {
  await snapshot(deps, SB, 'original');
  const archive = path.join(fx.base, 'original.tar.gz');
  await exportSnapshot({ sandbox: SB, selector: 'latest', format: 'tar.gz', output: archive }, deps);
  registerOpenClaw(deps, 'copy', path.join(fx.base, 'copy-root'));
  return archive;
}

describe('leftovers of interrupted commands', () => {
  it('a killed delete does not poison the next import --overwrite: one bundle with the label, its leftover swept with one line', async () => {
    const archive = await exported();
    const first = await importArchive({ sandbox: 'copy', file: archive }, deps);
    const killed = await clawback(fx.home, ['copy', 'snapshot', 'delete', 'latest', '--yes'], { env: { CLAWBACK_TEST_FAULT: 'delete:after-rename' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(onDisk('copy')).toEqual([`.deleting-${first.timestamp}`]);

    const again = await clawback(fx.home, ['copy', 'snapshot', 'import', archive, '--overwrite']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(sweepLine(again.stderr)).toBe(`warning: removed what interrupted commands left in ${sandboxDir(fx.home, 'copy')}: .deleting-${first.timestamp}`);
    const [only, ...rest] = onDisk('copy');
    expect(rest).toEqual([]);

    // And once more over the import just made: it is replaced, nothing else is there.
    const over = await clawback(fx.home, ['copy', 'snapshot', 'import', archive, '--overwrite', '--json']);
    expect(over.exitCode, String(over.stderr)).toBe(0);
    expect(json<{ import: { replaced: string[] } }>(over).import.replaced).toEqual([only]);
    expect(sweepLine(over.stderr)).toBeUndefined();
    const list = json<ListDoc>(await clawback(fx.home, ['copy', 'snapshot', 'list', '--json'])).snapshots;
    expect(list.map((s) => [s.name, s.state])).toEqual([['original', 'complete']]);
    expect(onDisk('copy')).toEqual([list[0]!.id]);
  });

  it('a killed import leaves a .partial and its scratch dir; the next create removes both and says so in one line', async () => {
    const archive = await exported();
    const killed = await clawback(fx.home, ['copy', 'snapshot', 'import', archive], { env: { CLAWBACK_TEST_FAULT: 'import:before-rename' } });
    expect(killed.signal).toBe('SIGKILL');
    const left = onDisk('copy');
    expect(left.filter((n) => n.endsWith('.partial'))).toHaveLength(1);
    expect(left.filter((n) => n.startsWith('.import-'))).toHaveLength(1);
    expect(left).toHaveLength(2);

    fs.mkdirSync(path.join(fx.base, 'copy-root', 'workspace'), { recursive: true });
    fs.writeFileSync(path.join(fx.base, 'copy-root', 'workspace', 'SOUL.md'), 'copy\n');
    const created = await clawback(fx.home, ['copy', 'snapshot', 'create']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    expect(sweepLine(created.stderr)).toBe(`warning: removed what interrupted commands left in ${sandboxDir(fx.home, 'copy')}: ${[...left].sort().join(', ')}`);
    expect(String(created.stderr).split('\n').filter((l) => l.includes('interrupted commands'))).toHaveLength(1);
    const list = json<ListDoc>(await clawback(fx.home, ['copy', 'snapshot', 'list', '--json'])).snapshots;
    expect(list.map((s) => s.state)).toEqual(['complete']);
    expect(onDisk('copy')).toEqual([list[0]!.id]);
  });

  it('a killed create leaves a .partial that the next delete sweeps along with what it was asked to delete', async () => {
    const first = await snapshot(deps, SB);
    const killed = await clawback(fx.home, [SB, 'snapshot', 'create'], { env: { CLAWBACK_TEST_FAULT: 'create:before-rename' } });
    expect(killed.signal).toBe('SIGKILL');
    const partial = onDisk(SB).find((n) => n.endsWith('.partial'));
    expect(partial).toBeDefined();
    const deleted = await clawback(fx.home, [SB, 'snapshot', 'delete', first, '--yes']);
    expect(deleted.exitCode, String(deleted.stderr)).toBe(0);
    expect(sweepLine(deleted.stderr)).toBe(`warning: removed what interrupted commands left in ${sandboxDir(fx.home, SB)}: ${partial}`);
    expect(onDisk(SB)).toEqual([]);
    expect(bundleIds(fx.home, SB, { scratch: true })).toEqual([]);
  });
});
