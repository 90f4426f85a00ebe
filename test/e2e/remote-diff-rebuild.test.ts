import fs from 'node:fs';
import path from 'node:path';
import type { Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTargetUnavailable, makeBusyboxTarget, type BusyboxTarget } from '../../fixtures/busybox-target.js';
import JSON5 from 'json5';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { writeHookScript } from '../helpers/hooks.js';
import { quickCheckOk } from '../helpers/remote.js';
import { readTree } from '../helpers/tree.js';

/**
 * `snapshot diff` against the live state, and `rebuild`, of a sandbox behind a transport (issue 14
 * item 4), through the busybox-only `exec:` target. The target's root is a host directory, so the
 * same tree is also registered as a local sandbox: a remote diff must say exactly what a local one says.
 */

const unavailable = busyboxTargetUnavailable();
if (unavailable !== undefined) console.log(`busybox target tests skipped: ${unavailable}`);

const FRESH_TOKEN = 'fresh-token-from-recreate-in-the-target';

/** A recreate hook that reaches the target only through CLAWBACK_VIA (an exec: prefix here): a fresh config and a default file. */
const RECREATE = `#!/bin/sh
set -e
echo "recreate $CLAWBACK_SANDBOX via=$CLAWBACK_VIA previous=$CLAWBACK_PREVIOUS_ROOT" >> "$HOOK_LOG"
\${CLAWBACK_VIA#exec:} 'sh -s' <<EOF
set -e
mkdir -p "$CLAWBACK_ROOT/workspace"
echo '# default AGENTS.md of a fresh install' > "$CLAWBACK_ROOT/workspace/AGENTS.md"
echo '{ "gateway": { "port": 19001, "auth": { "token": "${FRESH_TOKEN}" } }, "ui": { "theme": "light" } }' > "$CLAWBACK_ROOT/openclaw.json"
EOF
`;

/** What a rebuild does not bring back as captured: the merged config and what follows it, and what no snapshot holds. */
const notRestored = (rel: string): boolean =>
  /^(openclaw\.json|openclaw\.json\.last-good|\.config-hash|identity|devices|browser|logs|tmp|extensions\/[^/]+\/node_modules)(\/|$)/.test(rel) ||
  rel.includes('.sqlite') ||
  rel.includes('.clobbered.');

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

  describe('rebuild', () => {
    let hookLog: string;
    const siblings = (): string[] => fs.readdirSync(path.dirname(root)).filter((n) => n.startsWith('.openclaw.') || n.startsWith('.clawback-tmp-'));
    const run = (args: string[], extra: Record<string, string> = {}): Promise<Result> => clawback(home, args, { env: { HOOK_LOG: hookLog, ...extra } });

    beforeAll(async () => {
      hookLog = path.join(tempDir(), 'hooks.log');
      const recreate = writeHookScript(path.join(tempDir(), 'hooks'), 'recreate.sh', RECREATE);
      const set = await cli('sandbox', 'set', 'bb', '--hook-recreate', recreate, '--hook-stop', 'echo "stop $CLAWBACK_SANDBOX via=$CLAWBACK_VIA" >> "$HOOK_LOG"');
      expect(set.exitCode, String(set.stderr)).toBe(0);
      const configFile = path.join(root, 'openclaw.json');
      const config = JSON5.parse(fs.readFileSync(configFile, 'utf8'));
      config.ui.theme = 'solarized';
      fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
    });

    it('snapshots, moves the root aside, recreates and restores in the target; hooks get CLAWBACK_VIA; the user state is back byte for byte', async () => {
      const userTree = readTree(root, { skip: notRestored });
      const rebuilt = await run(['bb', 'rebuild', '--yes', '--json']);
      expect(rebuilt.exitCode, String(rebuilt.stderr)).toBe(0);
      const lines = fs.readFileSync(hookLog, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(`stop bb via=${target.via}`);
      expect(lines[1]).toMatch(/^recreate bb via=exec:.* previous=\/sandbox\/\.openclaw\.clawback-rebuild-\d{4}-/);
      expect(lines[1]).toContain(`via=${target.via} `);
      const config = JSON5.parse(fs.readFileSync(path.join(root, 'openclaw.json'), 'utf8')) as { gateway: { auth: { token: string } }; ui: { theme: string } };
      expect([config.gateway.auth.token, config.ui.theme]).toEqual([FRESH_TOKEN, 'solarized']);
      const after = readTree(root, { skip: notRestored });
      expect([...after.keys()]).toEqual([...userTree.keys()]);
      expect(after).toEqual(userTree);
      for (const db of fs.readdirSync(path.join(root, 'memory')).filter((n) => n.endsWith('.sqlite'))) expect(quickCheckOk(path.join(root, 'memory', db)), db).toBe(true);
      expect(siblings()).toEqual([]);
      expect(fs.existsSync(path.join(home, 'journal', 'rebuild', 'bb.json'))).toBe(false);
    });

    it('a rebuild killed after the recreate hook is rolled back in the target by the next command', async () => {
      const before = readTree(root);
      const killed = await run(['bb', 'rebuild', '--yes'], { CLAWBACK_TEST_FAULT: 'rebuild:recreated' });
      expect(killed.signal).toBe('SIGKILL');
      expect(siblings()).toEqual([expect.stringMatching(/^\.openclaw\.clawback-rebuild-/)]);
      expect(fs.readFileSync(path.join(root, 'openclaw.json'), 'utf8')).toContain(FRESH_TOKEN);
      const next = await run(['bb', 'snapshot', 'list']);
      expect(next.exitCode, String(next.stderr)).toBe(0);
      expect(String(next.stderr)).toContain('an interrupted rebuild of bb was rolled back: the original state is back at /sandbox/.openclaw');
      expect(readTree(root)).toEqual(before);
      expect(siblings()).toEqual([]);
    });
  });
});
