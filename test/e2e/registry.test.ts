import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clawback, json, tempDir } from '../helpers/cli.js';

let base: string;
let home: string;

beforeEach(() => {
  base = tempDir();
  home = path.join(base, 'clawback-home');
});
afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('sandbox registry', () => {
  it('adds, lists, shows, changes and removes sandboxes', async () => {
    const root = path.join(base, 'oc');
    fs.mkdirSync(root);
    expect((await clawback(home, ['sandbox', 'add', 'alpha', '--agent', 'openclaw', '--root', root, '--hook-running', 'true'])).exitCode).toBe(0);
    const dup = await clawback(home, ['sandbox', 'add', 'alpha', '--agent', 'openclaw', '--root', root]);
    expect(dup.exitCode).toBe(5);
    expect((await clawback(home, ['sandbox', 'add', '-bad', '--agent', 'openclaw', '--root', root])).exitCode).toBe(2);
    expect((await clawback(home, ['sandbox', 'add', 'beta', '--agent', 'nosuchkind', '--root', root])).exitCode).toBe(2);
    expect(fs.statSync(path.join(home, 'sandboxes.json')).mode & 0o777).toBe(0o600);

    const list = json<{ sandboxes: Array<{ name: string; agent: string; root: string; rootExists: boolean; hooks: Record<string, string> }> }>(
      await clawback(home, ['sandbox', 'list', '--json']),
    );
    expect(list.sandboxes).toEqual([expect.objectContaining({ name: 'alpha', agent: 'openclaw', root, rootExists: true, hooks: { running: 'true' } })]);

    expect((await clawback(home, ['sandbox', 'set', 'alpha', '--hook-running', '', '--hook-stop', 'echo stop'])).exitCode).toBe(0);
    const shown = json<{ sandbox: { hooks: Record<string, string> } }>(await clawback(home, ['sandbox', 'show', 'alpha', '--json']));
    expect(shown.sandbox.hooks).toEqual({ stop: 'echo stop' });

    const refused = await clawback(home, ['sandbox', 'remove', 'alpha']);
    expect(refused.exitCode).toBe(5);
    expect(String(refused.stderr)).toMatch(/pass --yes/);
    expect((await clawback(home, ['sandbox', 'remove', 'alpha', '--yes'])).exitCode).toBe(0);
    expect((await clawback(home, ['sandbox', 'show', 'alpha'])).exitCode).toBe(4);
  });

  it('refuses to rewrite a registry it cannot read (exit 6)', async () => {
    write(path.join(home, 'sandboxes.json'), '{ not json');
    const result = await clawback(home, ['sandbox', 'add', 'x', '--agent', 'openclaw', '--root', base]);
    expect(result.exitCode).toBe(6);
    expect(fs.readFileSync(path.join(home, 'sandboxes.json'), 'utf8')).toBe('{ not json');
  });

  it('discover lists homes and registers them only with --yes', async () => {
    const fakeHome = path.join(base, 'user');
    fs.mkdirSync(path.join(fakeHome, '.openclaw'), { recursive: true });
    fs.mkdirSync(path.join(fakeHome, '.hermes'), { recursive: true });
    const env = { HOME: fakeHome, QWENPAW_WORKING_DIR: path.join(base, 'qp-working') };
    fs.mkdirSync(env.QWENPAW_WORKING_DIR);
    const listed = json<{ found: Array<{ agent: string; root: string; registeredAs?: string }> }>(await clawback(home, ['discover', '--json'], { env }));
    expect(listed.found.map((f) => f.agent).sort()).toEqual(['hermes', 'openclaw', 'qwenpaw']);
    expect(listed.found.every((f) => f.registeredAs === undefined)).toBe(true);
    expect(fs.existsSync(path.join(home, 'sandboxes.json'))).toBe(false);

    const added = await clawback(home, ['discover', '--yes'], { env });
    expect(added.exitCode).toBe(0);
    const list = json<{ sandboxes: Array<{ name: string; root: string }> }>(await clawback(home, ['sandbox', 'list', '--json']));
    expect(list.sandboxes.map((s) => s.name)).toEqual(['hermes', 'openclaw', 'qwenpaw']);
    expect(list.sandboxes.find((s) => s.name === 'qwenpaw')?.root).toBe(env.QWENPAW_WORKING_DIR);
    // a second run registers nothing twice
    await clawback(home, ['discover', '--yes'], { env });
    expect(json<{ sandboxes: unknown[] }>(await clawback(home, ['sandbox', 'list', '--json'])).sandboxes).toHaveLength(3);
  });

  it('uses a custom selective manifest with prefix dirs and a module filter', async () => {
    const root = path.join(base, 'agent');
    write(path.join(root, 'workspace', 'a.md'), 'a');
    write(path.join(root, 'workspace-research', 'b.md'), 'b');
    write(path.join(root, 'workspace-ops', 'c.md'), 'c');
    write(path.join(root, 'notes', 'unlisted.md'), 'not captured in selective mode');
    write(path.join(root, 'settings.json'), '{}');
    write(path.join(root, 'credentials', 'token'), 'secret');
    const manifest = path.join(base, 'agent.yaml');
    write(
      manifest,
      `agent: custom
version: 1
capture: selective
state_dirs:
  - workspace
  - prefix: workspace-
  - credentials
state_files:
  - settings.json
modules:
  workspaces: [workspace/**, workspace-*/**]
  config: [settings.json]
  secrets: { paths: [credentials/**], secret: true }
agent_dirs: ["workspace-*"]
`,
    );
    expect((await clawback(home, ['sandbox', 'add', 'custom', '--agent', manifest, '--root', root])).exitCode).toBe(0);
    const full = json<{ snapshot: { dir: string; files: number } }>(await clawback(home, ['custom', 'snapshot', 'create', '--json']));
    expect(full.snapshot.files).toBe(5);
    expect(fs.existsSync(path.join(full.snapshot.dir, 'payload', 'notes'))).toBe(false);

    const partial = json<{ snapshot: { dir: string; files: number } }>(
      await clawback(home, ['custom', 'snapshot', 'create', '--only', 'workspaces', '--agent', 'research', '--json']),
    );
    const payload = path.join(partial.snapshot.dir, 'payload');
    expect(fs.readFileSync(path.join(payload, 'workspace-research', 'b.md'), 'utf8')).toBe('b');
    expect(fs.existsSync(path.join(payload, 'workspace', 'a.md'))).toBe(true);
    expect(fs.existsSync(path.join(payload, 'workspace-ops'))).toBe(false);
    expect(fs.existsSync(path.join(payload, 'settings.json'))).toBe(false);
    expect(partial.snapshot.files).toBe(2);

    const noSecrets = json<{ snapshot: { dir: string } }>(await clawback(home, ['custom', 'snapshot', 'create', '--no-secrets', '--json']));
    expect(fs.existsSync(path.join(noSecrets.snapshot.dir, 'payload', 'credentials', 'token'))).toBe(false);
    const shown = json<{ snapshot: { includesSecrets: boolean; scope: { full: boolean } } }>(await clawback(home, ['custom', 'snapshot', 'show', 'latest', '--json']));
    expect(shown.snapshot).toMatchObject({ includesSecrets: false, scope: { full: false } });

    expect((await clawback(home, ['custom', 'snapshot', 'create', '--only', 'nosuch'])).exitCode).toBe(2);
  });

  it('reports a broken custom manifest with file and line', async () => {
    const manifest = path.join(base, 'bad.yaml');
    write(manifest, 'agent: bad\nversion: 1\nstate_files:\n  - ../../etc/shadow\n');
    const result = await clawback(home, ['sandbox', 'add', 'bad', '--agent', manifest, '--root', base]);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toContain(`${manifest}:4:`);
  });
});

describe('the CLI surface', () => {
  it('prints help with the exit codes, fails usage with 2, and errors as JSON with --json', async () => {
    const help = await clawback(home, ['--help']);
    expect(help.exitCode).toBe(0);
    expect(String(help.stdout)).toMatch(/Exit codes:[\s\S]*7\s+busy/);
    expect(String(help.stdout)).toContain('clawback <name> snapshot create');
    expect((await clawback(home, ['frobnicate'])).exitCode).toBe(2);
    expect((await clawback(home, ['x', 'snapshot'])).exitCode).toBe(2);
    const err = await clawback(home, ['ghost', 'snapshot', 'list', '--json']);
    expect(err.exitCode).toBe(4);
    expect(String(err.stdout)).toBe('');
    expect(JSON.parse(String(err.stderr))).toMatchObject({ code: 'sandbox-not-found', exitCode: 4 });
  });

  it('runs the demo end to end', async () => {
    const result = await clawback(home, ['demo'], { env: { TMPDIR: base } });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain('$ clawback my-assistant snapshot create --name before-upgrade');
    expect(String(result.stdout)).toContain('before-upgrade');
    expect(fs.readdirSync(base).filter((n) => n.startsWith('clawback-demo-'))).toEqual([]);
  }, 120_000);
});
