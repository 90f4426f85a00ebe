import { createHash } from 'node:crypto';
import fs from 'node:fs';
import JSON5 from 'json5';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { writeHookScript } from '../helpers/hooks.js';
import { readTree, treeDigest } from '../helpers/tree.js';

const FRESH_TOKEN = 'fresh-token-from-recreate-0123456789';

/** A recreate hook in the spirit of a real one: a fresh config with a new gateway token, a default workspace and a device identity. */
const RECREATE = `#!/bin/sh
set -e
echo "recreate $CLAWBACK_SANDBOX previous=$(test -d "$CLAWBACK_PREVIOUS_ROOT" && echo present)" >> "$HOOK_LOG"
mkdir -p "$CLAWBACK_ROOT/workspace" "$CLAWBACK_ROOT/identity"
echo "# default AGENTS.md of a fresh install" > "$CLAWBACK_ROOT/workspace/AGENTS.md"
echo '{"deviceId":"fresh"}' > "$CLAWBACK_ROOT/identity/device.json"
cat > "$CLAWBACK_ROOT/openclaw.json" <<'JSON'
{
  "gateway": { "port": 19001, "auth": { "token": "${FRESH_TOKEN}" } },
  "ui": { "theme": "light" }
}
JSON
`;

let base: string;
let home: string;
let sample: GeneratedHome;
let hookLog: string;
let hooksDir: string;

function env(): Record<string, string> {
  return { HOOK_LOG: hookLog };
}

function hookLines(): string[] {
  return fs.existsSync(hookLog) ? fs.readFileSync(hookLog, 'utf8').trim().split('\n') : [];
}

function readConfig(): { gateway: { port: number; auth: { token: string } }; ui: { theme: string } } {
  return JSON5.parse(fs.readFileSync(path.join(sample.root, 'openclaw.json'), 'utf8'));
}

function siblings(): string[] {
  return fs.readdirSync(path.dirname(sample.root)).filter((n) => n !== path.basename(sample.root) && n.startsWith(path.basename(sample.root)));
}

async function register(hooks: { recreate: string; stop?: string; start?: string }): Promise<void> {
  const args = ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', sample.root, '--hook-recreate', hooks.recreate];
  if (hooks.stop) args.push('--hook-stop', hooks.stop);
  if (hooks.start) args.push('--hook-start', hooks.start);
  const added = await clawback(home, args);
  expect(added.exitCode, String(added.stderr)).toBe(0);
}

const STOP = 'echo "stop $CLAWBACK_SANDBOX" >> "$HOOK_LOG"';
const START = 'echo "start $CLAWBACK_SANDBOX $(test -f "$CLAWBACK_ROOT/openclaw.json" && echo has-config)" >> "$HOOK_LOG"';

beforeEach(() => {
  base = tempDir('clawback-rebuild-');
  home = path.join(base, 'home');
  hookLog = path.join(base, 'hooks.log');
  hooksDir = path.join(base, 'hooks');
  sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'agents', 'openclaw') });
  // A user setting that differs from what a fresh install writes.
  const configFile = path.join(sample.root, 'openclaw.json');
  const config = JSON5.parse(fs.readFileSync(configFile, 'utf8'));
  config.ui.theme = 'solarized';
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
  // Fold the fixture's WAL into the database now, so the database has no -wal: a snapshot then opens it
  // read-write and SQLite removes the -wal/-shm it creates on close, and the tree digests below compare
  // exactly what the rebuild itself does (a -wal's -shm may be rewritten by any reader).
  for (const file of sample.databases) {
    const db = new Database(file);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    db.close();
  }
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/**
 * What a rebuild does not bring back as captured: the merged config and the two files that follow it
 * (checked below), the fresh identity, and what no snapshot holds (caches, logs, extensions'
 * node_modules, which the agent's installer lays down, OpenClaw's .clobbered leftovers); databases
 * are compared by rows below.
 */
const notRestored = (rel: string): boolean =>
  /^(openclaw\.json|openclaw\.json\.last-good|\.config-hash|identity|devices|browser|logs|tmp|extensions\/[^/]+\/node_modules)(\/|$)/.test(rel) ||
  rel.includes('.sqlite') ||
  rel.includes('.clobbered.');

describe('rebuild', () => {
  it('restores the user state into a fresh home whose config owns the runtime keys', async () => {
    await register({ recreate: writeHookScript(hooksDir, 'recreate.sh', RECREATE), stop: STOP, start: START });
    const oldToken = readConfig().gateway.auth.token;
    const userTree = readTree(sample.root, { skip: notRestored });
    const db = sample.databases[0]!;
    const dbRel = path.relative(sample.root, db);

    const run = await clawback(home, ['oc', 'rebuild', '--yes'], { env: env() });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(hookLines()).toEqual(['stop oc', 'recreate oc previous=present', 'start oc has-config']);

    // Runtime keys from the fresh config, user settings from the snapshot.
    const config = readConfig();
    expect(config.gateway.auth.token).toBe(FRESH_TOKEN);
    expect(config.gateway.auth.token).not.toBe(oldToken);
    expect(config.gateway.port).toBe(19001);
    expect(config.ui.theme).toBe('solarized');
    // OpenClaw's last-good copy and NemoClaw's .config-hash follow the merged config, so neither reverts nor refuses it.
    const merged = fs.readFileSync(path.join(sample.root, 'openclaw.json'));
    expect(fs.readFileSync(path.join(sample.root, 'openclaw.json.last-good'))).toEqual(merged);
    expect(fs.readFileSync(path.join(sample.root, '.config-hash'), 'utf8')).toContain(createHash('sha256').update(merged).digest('hex'));

    // Every workspace, session and credential file is back with its bytes, modes and links.
    const after = readTree(sample.root, { skip: notRestored });
    expect([...after.keys()]).toEqual([...userTree.keys()]);
    expect(after).toEqual(userTree);
    // The fresh install's default file is not in the snapshot, so the restore removes it; its machine-local identity stays.
    expect(fs.existsSync(path.join(sample.root, 'workspace', 'AGENTS.md'))).toBe(userTree.has('workspace/AGENTS.md'));
    expect(fs.readFileSync(path.join(sample.root, 'identity', 'device.json'), 'utf8')).toBe('{"deviceId":"fresh"}\n');

    // The database came back through the backup API with every row.
    const conn = new Database(path.join(sample.root, dbRel), { readonly: true });
    try {
      for (const [table, count] of Object.entries(sample.rowCounts[db]!)) {
        expect((conn.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n, table).toBe(count);
      }
      expect(conn.pragma('quick_check', { simple: true })).toBe('ok');
    } finally {
      conn.close();
    }

    // The old root is gone only now; the pre-rebuild snapshot stays and is complete.
    expect(siblings()).toEqual([]);
    expect(fs.existsSync(path.join(home, 'journal', 'rebuild', 'oc.json'))).toBe(false);
    const list = json<{ snapshots: Array<{ name: string; state: string }> }>(await clawback(home, ['oc', 'snapshot', 'list', '--json']));
    expect(list.snapshots).toHaveLength(1);
    expect(list.snapshots[0]!.name).toMatch(/^pre-rebuild-\d{4}-\d{2}-\d{2}T/);
    expect(list.snapshots[0]!.state).toBe('complete');

    const lines = String(run.stdout).split('\n');
    expect(lines.map((l) => l.replace(/\(\d+(\.\d+)? m?s\)$/, '').split(':')[0]!.trim())).toEqual([
      '✓ stopped (stop hook)',
      `✓ snapshot ${list.snapshots[0]!.name}`,
      `✓ moved ${sample.root} aside to ${sample.root}.clawback-rebuild-${list.snapshots[0]!.name.slice('pre-rebuild-'.length)}`,
      '✓ fresh home laid down (recreate hook)',
      expect.stringMatching(/^✓ restored \d+ paths from pre-rebuild-/),
      '✓ started (start hook)',
      `✓ removed the old root ${sample.root}.clawback-rebuild-${list.snapshots[0]!.name.slice('pre-rebuild-'.length)}`,
      expect.stringMatching(/^rebuilt oc at /),
      expect.stringMatching(/^kept from the fresh openclaw.json/),
      'the pre-rebuild snapshot stays',
    ]);
  });

  it('a recreate hook that fails puts the original root back byte-identical and names the snapshot', async () => {
    const failing = writeHookScript(hooksDir, 'recreate-fails.sh', `#!/bin/sh\nmkdir -p "$CLAWBACK_ROOT/workspace"\necho half > "$CLAWBACK_ROOT/workspace/half-written.md"\necho "npm ERR! could not install" >&2\nexit 1\n`);
    await register({ recreate: failing, stop: STOP, start: START });
    const before = treeDigest(sample.root);
    const rootMode = fs.statSync(sample.root).mode;

    const run = await clawback(home, ['oc', 'rebuild', '--yes', '--json'], { env: env() });
    expect(run.exitCode).toBe(5);
    expect(treeDigest(sample.root)).toEqual(before);
    expect(fs.statSync(sample.root).mode).toBe(rootMode);
    expect(siblings()).toEqual([]);
    expect(hookLines()).toEqual(['stop oc', 'start oc has-config']);

    const snapshots = json<{ snapshots: Array<{ path: string; name: string; state: string }> }>(await clawback(home, ['oc', 'snapshot', 'list', '--json'])).snapshots;
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.state).toBe('complete');
    const error = JSON.parse(String(run.stderr)) as { code: string; exitCode: number; message: string; hint: string; details: string[] };
    expect(error.code).toBe('hook-failed');
    expect(error.exitCode).toBe(5);
    expect(error.message).toBe(
      `rebuild of oc failed while recreating a fresh home: the recreate hook of oc exited with code 1; the original state is back at ${sample.root}; the snapshot taken before is ${snapshots[0]!.path} (the agent was started again)`,
    );
    expect(error.hint).toContain(`clawback oc snapshot restore ${snapshots[0]!.name}`);
    expect(error.details).toEqual(['output (last lines):', '  npm ERR! could not install']);
  });

  it('a restore that fails (the fresh config does not parse) rolls back too, with the restore error\'s exit code', async () => {
    const broken = writeHookScript(hooksDir, 'recreate-broken.sh', `#!/bin/sh\nmkdir -p "$CLAWBACK_ROOT"\necho '{ not json' > "$CLAWBACK_ROOT/openclaw.json"\n`);
    await register({ recreate: broken });
    const before = treeDigest(sample.root);
    const run = await clawback(home, ['oc', 'rebuild', '--yes']);
    expect(run.exitCode, String(run.stderr)).toBe(6);
    expect(String(run.stderr)).toContain('rebuild of oc failed while restoring the snapshot');
    expect(String(run.stderr)).toContain(`the original state is back at ${sample.root}; the snapshot taken before is ${path.join(home, 'rebuild-backups', 'oc')}`);
    expect(treeDigest(sample.root)).toEqual(before);
    expect(siblings()).toEqual([]);
  });

  it('a start hook that fails after the restore rolls back to the original root', async () => {
    await register({ recreate: writeHookScript(hooksDir, 'recreate.sh', RECREATE), start: 'echo "start attempt" >> "$HOOK_LOG"; test "$(grep -c "start attempt" "$HOOK_LOG")" -ge 2' });
    const before = treeDigest(sample.root);
    const run = await clawback(home, ['oc', 'rebuild', '--yes'], { env: env() });
    expect(run.exitCode).toBe(5);
    expect(String(run.stderr)).toContain('rebuild of oc failed while starting the agent: the start hook of oc exited with code 1');
    expect(treeDigest(sample.root)).toEqual(before);
    // The second start (after the roll back) succeeds.
    expect(hookLines()).toEqual(['recreate oc previous=present', 'start attempt', 'start attempt']);
  });

  it('a rebuild killed after the recreate hook is rolled back by the next command', async () => {
    await register({ recreate: writeHookScript(hooksDir, 'recreate.sh', RECREATE) });
    const before = treeDigest(sample.root);
    const killed = await clawback(home, ['oc', 'rebuild', '--yes'], { env: { ...env(), CLAWBACK_TEST_FAULT: 'rebuild:recreated' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(siblings()).toHaveLength(1);
    expect(readConfig().gateway.auth.token).toBe(FRESH_TOKEN);

    const next = await clawback(home, ['oc', 'snapshot', 'list']);
    expect(next.exitCode).toBe(0);
    expect(String(next.stderr)).toContain(`an interrupted rebuild of oc was rolled back: the original state is back at ${sample.root}`);
    expect(treeDigest(sample.root)).toEqual(before);
    expect(siblings()).toEqual([]);
  });

  it('refuses without --yes off a TTY, without a recreate hook, and for an unknown sandbox — changing nothing', async () => {
    const noHook = await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', sample.root]);
    expect(noHook.exitCode).toBe(0);
    const before = treeDigest(sample.root);

    const missingHook = await clawback(home, ['oc', 'rebuild', '--yes', '--json']);
    expect(missingHook.exitCode).toBe(5);
    expect(JSON.parse(String(missingHook.stderr))).toMatchObject({ code: 'recreate-hook-missing', exitCode: 5 });

    await clawback(home, ['sandbox', 'set', 'oc', '--hook-recreate', 'exit 0']);
    const unconfirmed = await clawback(home, ['oc', 'rebuild']);
    expect(unconfirmed.exitCode).toBe(5);
    expect(String(unconfirmed.stderr)).toContain('not rebuilding oc without confirmation (stdin is not a terminal)');
    expect(String(unconfirmed.stderr)).toContain('hint: pass --yes');

    const unknown = await clawback(home, ['nope', 'rebuild', '--yes']);
    expect(unknown.exitCode).toBe(4);

    expect(treeDigest(sample.root)).toEqual(before);
    expect(fs.existsSync(path.join(home, 'rebuild-backups', 'oc'))).toBe(false);
  });

  it('a recreate hook that exits 0 without creating the root is a failure, rolled back', async () => {
    await register({ recreate: 'true' });
    const before = treeDigest(sample.root);
    const run = await clawback(home, ['oc', 'rebuild', '--yes']);
    expect(run.exitCode).toBe(5);
    expect(String(run.stderr)).toContain(`the recreate hook of oc exited 0 but left no directory at ${sample.root}`);
    expect(treeDigest(sample.root)).toEqual(before);
  });
});
