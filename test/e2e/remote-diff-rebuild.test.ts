import fs from 'node:fs';
import path from 'node:path';
import type { Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTargetUnavailable, makeBusyboxTarget, type BusyboxTarget } from '../../fixtures/busybox-target.js';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';

/**
 * `snapshot diff` against the live state, and `rebuild`, of a sandbox behind a transport (issue 14
 * item 4), through the busybox-only `exec:` target. The target's root is a host directory, so the
 * same tree is also registered as a local sandbox: a remote diff must say exactly what a local one says.
 */

const unavailable = busyboxTargetUnavailable();
if (unavailable !== undefined) console.log(`busybox target tests skipped: ${unavailable}`);

interface DiffDoc {
  sandbox: string;
  from: unknown;
  to: { kind: string; root: string | null };
  added: Array<{ path: string }>;
  removed: Array<{ path: string }>;
  changed: Array<{ path: string; changes: string[] }>;
  hashedFiles: number;
}

describe.skipIf(unavailable !== undefined)('diff and rebuild through the busybox exec: target', { timeout: 120_000 }, () => {
  let target: BusyboxTarget;
  let home: string;
  let root: string;
  const cli = (...args: string[]): Promise<Result> => clawback(home, args);

  beforeAll(async () => {
    const dir = tempDir();
    home = path.join(dir, 'home');
    target = makeBusyboxTarget(path.join(dir, 'rootfs'));
    root = target.hostPath('/sandbox/.openclaw');
    generateHome({ kind: 'openclaw', scale: 'tiny', dir: root });
    for (const [name, args] of [['bb', ['--root', '/sandbox/.openclaw', '--via', target.via]], ['loc', ['--root', root]]] as const) {
      const added = await cli('sandbox', 'add', name, '--agent', 'openclaw', ...args);
      expect(added.exitCode, String(added.stderr)).toBe(0);
    }
  });
  afterAll(() => target?.remove());

  it('snapshot diff against the live remote state says what a local diff of the same tree says, in text and --json', async () => {
    for (const name of ['bb', 'loc']) expect((await cli(name, 'snapshot', 'create')).exitCode).toBe(0);
    const live = (rel: string): string => path.join(root, rel);
    fs.writeFileSync(live('workspace/NEW.md'), 'a new note\n');
    fs.rmSync(live('workspace/USER.md'));
    fs.appendFileSync(live('workspace/SOUL.md'), '\nchanged after the snapshot\n');
    // Same size, other bytes, other mtime: hashed in the target, and a change.
    const memory = fs.readFileSync(live('workspace/MEMORY.md'));
    memory[0] = memory[0] === 0x41 ? 0x42 : 0x41;
    fs.writeFileSync(live('workspace/MEMORY.md'), memory);
    // Same bytes, new mtime: hashed, and not a change.
    fs.utimesSync(live('workspace/AGENTS.md'), new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    fs.chmodSync(live('canvas/index.html'), 0o600);

    const remote = await cli('bb', 'snapshot', 'diff', 'latest', '--json');
    expect(remote.exitCode, String(remote.stderr)).toBe(0);
    const local = await cli('loc', 'snapshot', 'diff', 'latest', '--json');
    expect(local.exitCode, String(local.stderr)).toBe(0);
    const doc = json<DiffDoc>(remote);
    expect(doc.to).toMatchObject({ kind: 'live', root: '/sandbox/.openclaw' });
    expect({
      added: doc.added.map((i) => i.path),
      removed: doc.removed.map((i) => i.path),
      changed: doc.changed.map((i) => [i.path, i.changes]),
      hashedFiles: doc.hashedFiles,
    }).toEqual({
      added: ['workspace/NEW.md'],
      removed: ['workspace/USER.md'],
      changed: [
        ['canvas/index.html', ['mode']],
        ['workspace/MEMORY.md', ['content']],
        ['workspace/SOUL.md', ['content']],
      ],
      hashedFiles: 2,
    });
    const body = (d: DiffDoc): unknown => ({ ...d, sandbox: undefined, from: undefined, to: undefined });
    expect(body(doc)).toEqual(body(json<DiffDoc>(local)));

    const lines = (r: Result): string[] => String(r.stdout).split('\n').filter((l) => /^[-+U] /.test(l));
    const text = await cli('bb', 'snapshot', 'diff', 'latest');
    expect(text.exitCode, String(text.stderr)).toBe(0);
    expect(lines(text)).toEqual(lines(await cli('loc', 'snapshot', 'diff', 'latest')));
    expect(String(text.stdout)).toMatch(/^\+ workspace\/NEW\.md {2}\(11 B\)$/m);
  });
});
