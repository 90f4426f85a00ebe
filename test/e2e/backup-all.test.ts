import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addSandbox } from '../../src/engine/sandbox/sandbox.js';
import type { SandboxHooks } from '../../src/store/registry.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';
import { holdSandboxLock, makeFifo, releaseFifoReader, writeHookScript, writeSmallHome } from '../helpers/hooks.js';

interface Row {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  code?: string;
  exitCode?: number;
  details?: string[];
  snapshot?: { dir: string; files: number; timestamp: string };
}
interface BackupAllDoc {
  schemaVersion: number;
  rows: Row[];
  counts: { backedUp: number; failed: number; skipped: number };
  strict: boolean;
}

let base: string;
let home: string;

function root(name: string): string {
  return path.join(base, name);
}

async function register(name: string, extra: string[] = []): Promise<void> {
  const added = await clawback(home, ['sandbox', 'add', name, '--agent', 'openclaw', '--root', root(name), ...extra]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
}

beforeEach(() => {
  base = tempDir('clawback-backup-all-');
  home = path.join(base, 'home');
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('backup-all with a running, a stopped and a failing sandbox', () => {
  // Each test gets its own registry of the three, registered in this process (setup, not under test).
  beforeEach(() => {
    for (const name of ['alpha', 'bravo', 'charlie']) writeSmallHome(root(name), name);
    // An absolute symlink makes charlie's snapshot a refusal (exit 5 on its own).
    fs.symlinkSync('/etc/hostname', path.join(root('charlie'), 'workspace', 'escape'));
    const hooks: Record<string, SandboxHooks> = {
      charlie: {},
      alpha: { running: 'test "$CLAWBACK_SANDBOX" = alpha && test -d "$CLAWBACK_ROOT"' },
      bravo: { running: 'exit 1' },
    };
    for (const [name, running] of Object.entries(hooks)) addSandbox(name, { agent: 'openclaw', root: root(name), hooks: running }, base, testDeps(home));
  });

  it('prints one line per sandbox in name order, the summary, and exits 3', async () => {
    const run = await clawback(home, ['backup-all']);
    expect(run.exitCode, String(run.stderr)).toBe(3);
    const alphaBundle = bundleIds(home, 'alpha');
    expect(alphaBundle).toHaveLength(1);
    const bytes = ['workspace/SOUL.md', 'workspace/notes/today.md', 'openclaw.json'].reduce((sum, rel) => sum + fs.statSync(path.join(root('alpha'), rel)).size, 0);
    expect(String(run.stdout).split('\n')).toEqual([
      `✓ alpha: 3 files, ${bytes} B → ${path.join(home, 'rebuild-backups', 'alpha', alphaBundle[0]!)}`,
      '- bravo: skipped (not running)',
      '✗ charlie: refusing to snapshot charlie: 1 unsafe entry (absolute or escaping symlinks, FIFOs, devices)',
      '    workspace/escape -> /etc/hostname',
      '1 backed up, 1 failed, 1 skipped',
    ]);
    expect(bundleIds(home, 'bravo')).toEqual([]);
    expect(bundleIds(home, 'charlie')).toEqual([]);
    // The bundle alpha got is a real, complete snapshot.
    const list = await clawback(home, ['alpha', 'snapshot', 'list', '--json']);
    expect(json<{ snapshots: Array<{ state: string; files: number }> }>(list).snapshots).toMatchObject([{ state: 'complete', files: 3 }]);
  });

  it('--json gives one document with a row per sandbox and the counts', async () => {
    const run = await clawback(home, ['backup-all', '--json']);
    expect(run.exitCode).toBe(3);
    const doc = json<BackupAllDoc>(run);
    expect(doc.schemaVersion).toBe(1);
    expect(doc.counts).toEqual({ backedUp: 1, failed: 1, skipped: 1 });
    expect(doc.rows.map((r) => [r.name, r.status])).toEqual([
      ['alpha', 'ok'],
      ['bravo', 'skipped'],
      ['charlie', 'failed'],
    ]);
    const alphaBundle = bundleIds(home, 'alpha');
    expect(alphaBundle).toHaveLength(1);
    expect(doc.rows[0]!.snapshot).toMatchObject({ files: 3, dir: path.join(home, 'rebuild-backups', 'alpha', alphaBundle[0]!) });
    expect(doc.rows[1]).toEqual({ name: 'bravo', status: 'skipped', reason: 'not running' });
    expect(doc.rows[2]).toMatchObject({ name: 'charlie', status: 'failed', code: 'unsafe-links', exitCode: 5, details: ['workspace/escape -> /etc/hostname'] });
    expect(doc.rows[2]!.snapshot).toBeUndefined();
  });

  it('--quiet prints nothing on stdout and only what went wrong on stderr', async () => {
    const run = await clawback(home, ['backup-all', '--quiet']);
    expect(run.exitCode).toBe(3);
    expect(run.stdout).toBe('');
    expect(String(run.stderr).split('\n')).toEqual([
      '✗ charlie: refusing to snapshot charlie: 1 unsafe entry (absolute or escaping symlinks, FIFOs, devices)',
      '    workspace/escape -> /etc/hostname',
      '1 backed up, 1 failed, 1 skipped',
    ]);
    expect(bundleIds(home, 'alpha')).toHaveLength(1);
  });

  it('--include-stopped snapshots the stopped sandbox too', async () => {
    const run = await clawback(home, ['backup-all', '--include-stopped', '--json']);
    expect(run.exitCode).toBe(3);
    expect(json<BackupAllDoc>(run).counts).toEqual({ backedUp: 2, failed: 1, skipped: 0 });
    expect(bundleIds(home, 'bravo')).toHaveLength(1);
  });
});

describe('backup-all exit codes without failures', () => {
  beforeEach(async () => {
    writeSmallHome(root('alpha'), 'alpha');
    writeSmallHome(root('bravo'), 'bravo');
    await register('alpha');
    await register('bravo', ['--hook-running', 'exit 1']);
  });

  it('a skip alone exits 0; --strict and CLAWBACK_REQUIRE_ALL=1 turn it into exit 3', async () => {
    const plain = await clawback(home, ['backup-all']);
    expect(plain.exitCode, String(plain.stderr)).toBe(0);
    expect(String(plain.stdout).trim().split('\n').at(-1)).toBe('1 backed up, 0 failed, 1 skipped');

    const strict = await clawback(home, ['backup-all', '--strict', '--json']);
    expect(strict.exitCode).toBe(3);
    expect(json<BackupAllDoc>(strict)).toMatchObject({ strict: true, counts: { backedUp: 1, failed: 0, skipped: 1 } });

    const required = await clawback(home, ['backup-all'], { env: { CLAWBACK_REQUIRE_ALL: '1' } });
    expect(required.exitCode).toBe(3);
    const notRequired = await clawback(home, ['backup-all'], { env: { CLAWBACK_REQUIRE_ALL: '0' } });
    expect(notRequired.exitCode).toBe(0);
    expect(bundleIds(home, 'alpha')).toHaveLength(4);
  });

  it('--quiet prints nothing at all on success', async () => {
    const run = await clawback(home, ['backup-all', '--quiet']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
    expect(bundleIds(home, 'alpha')).toHaveLength(1);
  });
});

describe('backup-all edge cases', () => {
  it('a running hook that cannot run (127) or times out is a failure, not a skip, with its output', async () => {
    writeSmallHome(root('alpha'), 'alpha');
    writeSmallHome(root('bravo'), 'bravo');
    // bravo's hook blocks on a pipe nobody writes to: it can only end by being killed.
    const never = makeFifo(path.join(base, 'never'));
    await register('alpha', ['--hook-running', 'no-such-command-clawback-test']);
    await register('bravo', ['--hook-running', `echo checking; cat '${never}'`]);
    const run = await clawback(home, ['backup-all', '--json'], { env: { CLAWBACK_HOOK_TIMEOUT: '0.5' } });
    expect(run.exitCode).toBe(3);
    const doc = json<BackupAllDoc>(run);
    expect(doc.rows[0]).toMatchObject({ name: 'alpha', status: 'failed', code: 'hook-failed', reason: 'the running hook of alpha exited with code 127' });
    expect(doc.rows[0]!.details!.join('\n')).toContain('no-such-command-clawback-test: not found');
    expect(doc.rows[1]).toMatchObject({ name: 'bravo', status: 'failed', code: 'hook-timeout', reason: 'the running hook of bravo timed out after 0.5 s', details: ['output (last lines):', '  checking'] });
    // The timed-out hook's whole process group was killed: nothing is left reading the pipe.
    expect(releaseFifoReader(never)).toBe(false);
  });

  it('without a running hook, a sandbox whose root is missing is skipped', async () => {
    writeSmallHome(root('alpha'), 'alpha');
    await register('alpha');
    await register('ghost');
    const run = await clawback(home, ['backup-all']);
    expect(run.exitCode).toBe(0);
    expect(String(run.stdout)).toContain('- ghost: skipped (not running)');
    const included = await clawback(home, ['backup-all', '--include-stopped', '--json']);
    expect(included.exitCode).toBe(3);
    expect(json<BackupAllDoc>(included).rows[1]).toMatchObject({ name: 'ghost', status: 'failed', code: 'root-not-found', exitCode: 4 });
  });

  it('a sandbox locked by another process is a failed row (busy, exit 7 in the row); the others still run', async () => {
    writeSmallHome(root('alpha'), 'alpha');
    writeSmallHome(root('bravo'), 'bravo');
    await register('alpha');
    await register('bravo');
    const release = holdSandboxLock(home, 'alpha');
    try {
      const run = await clawback(home, ['backup-all', '--json']);
      expect(run.exitCode).toBe(3);
      const doc = json<BackupAllDoc>(run);
      expect(doc.rows[0]).toMatchObject({ name: 'alpha', status: 'failed', code: 'busy', exitCode: 7 });
      expect(doc.rows[1]).toMatchObject({ name: 'bravo', status: 'ok' });
    } finally {
      release();
    }
    expect(bundleIds(home, 'alpha')).toEqual([]);
    expect(bundleIds(home, 'bravo')).toHaveLength(1);
  });

  it('an empty registry is a failure (exit 4) whose hint names the home, with and without --strict', async () => {
    for (const args of [['backup-all'], ['backup-all', '--strict'], ['--quiet', 'backup-all', '--strict']]) {
      const run = await clawback(home, args);
      expect(run.exitCode, args.join(' ')).toBe(4);
      expect(String(run.stdout)).toBe('');
      expect(String(run.stderr)).toContain(`no sandbox is registered in ${home}`);
      expect(String(run.stderr)).toMatch(new RegExp(`hint: .*${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is the wrong home`));
    }
    const doc = await clawback(home, ['backup-all', '--strict', '--json']);
    expect(doc.exitCode).toBe(4);
    expect(JSON.parse(String(doc.stderr))).toMatchObject({ code: 'no-sandboxes', exitCode: 4, hint: expect.stringContaining(home) });
  });

  it('registry hooks can be set, shown and removed', async () => {
    writeSmallHome(root('alpha'), 'alpha');
    await register('alpha', ['--hook-running', 'true', '--hook-stop', 'echo stop', '--hook-start', 'echo start', '--hook-recreate', 'echo recreate']);
    const show = await clawback(home, ['sandbox', 'show', 'alpha', '--json']);
    expect(json<{ sandbox: { hooks: Record<string, string> } }>(show).sandbox.hooks).toEqual({ running: 'true', stop: 'echo stop', start: 'echo start', recreate: 'echo recreate' });
    const set = await clawback(home, ['sandbox', 'set', 'alpha', '--hook-running', 'exit 1', '--hook-stop', '']);
    expect(set.exitCode).toBe(0);
    const after = await clawback(home, ['sandbox', 'show', 'alpha', '--json']);
    expect(json<{ sandbox: { hooks: Record<string, string> } }>(after).sandbox.hooks).toEqual({ running: 'exit 1', start: 'echo start', recreate: 'echo recreate' });
    const run = await clawback(home, ['backup-all']);
    expect(String(run.stdout)).toContain('- alpha: skipped (not running)');
  });

  it('hooks get their own process group: a hook that leaves a daemon behind does not hold backup-all', async () => {
    writeSmallHome(root('alpha'), 'alpha');
    // The daemon keeps the hook's stdout and lives until the test writes to the pipe (never, if backup-all waited for it).
    const pipe = makeFifo(path.join(base, 'daemon'));
    const hook = writeHookScript(path.join(base, 'hooks'), 'running.sh', `#!/bin/sh\n(read line < '${pipe}') &\necho up\nexit 0\n`);
    await register('alpha', ['--hook-running', hook]);
    const run = await clawback(home, ['backup-all']);
    expect(run.exitCode).toBe(0);
    expect(String(run.stdout)).toContain('✓ alpha:');
    // backup-all finished while the daemon was still alive; releasing it now lets it exit.
    expect(releaseFifoReader(pipe)).toBe(true);
  });
});
