import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectOk, readJson } from '../helpers/archives.js';
import { clawback, json, REPO, tempDir } from '../helpers/cli.js';
import { databaseContent } from '../helpers/sqlite.js';
import { readTree, type TreeItem } from '../helpers/tree.js';

/**
 * Bundles and archives written by clawback 0.1.0 (test/fixtures/frozen/README.md). Every later version
 * must still import, verify and restore them to exactly the home declared in home.json.
 */
const FROZEN = path.join(REPO, 'test', 'fixtures', 'frozen');

interface DeclaredHome {
  dirs: Record<string, string>;
  files: Record<string, { mode: string; text: string }>;
  links: Record<string, string>;
  databases: Record<string, { mode: string; schema: string[]; rows: Record<string, Array<Record<string, unknown>>> }>;
  /** Top-level dirs of the secrets module: left out of an unencrypted export. */
  secrets: string[];
}

const declared = JSON.parse(fs.readFileSync(path.join(FROZEN, 'home.json'), 'utf8')) as { openclaw: DeclaredHome; qwenpaw: DeclaredHome };

let base: string;
let home: string;

beforeEach(() => {
  base = tempDir('clawback-frozen-');
  home = path.join(base, 'home');
});

afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

/** An empty state root registered as `name`: a machine that has never seen this home. */
async function emptySandbox(name: string, agent: 'openclaw' | 'qwenpaw'): Promise<string> {
  const root = path.join(base, name);
  fs.mkdirSync(root);
  await expectOk(clawback(home, ['sandbox', 'add', name, '--agent', agent, '--root', root]));
  return root;
}

/** The declared home as readTree sees it, databases left to `expectDatabases`. */
function expectedTree(h: DeclaredHome, withSecrets: boolean, dirMode: number | undefined): Map<string, TreeItem> {
  const kept = (rel: string): boolean => withSecrets || !h.secrets.some((dir) => rel === dir || rel.startsWith(`${dir}/`));
  const tree = new Map<string, TreeItem>();
  for (const [rel, mode] of Object.entries(h.dirs)) if (kept(rel)) tree.set(rel, { type: 'dir', mode: dirMode ?? parseInt(mode, 8) });
  for (const [rel, file] of Object.entries(h.files)) {
    if (!kept(rel)) continue;
    const bytes = Buffer.from(file.text, 'utf8');
    tree.set(rel, { type: 'file', mode: parseInt(file.mode, 8), sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
  }
  for (const [rel, target] of Object.entries(h.links)) tree.set(rel, { type: 'symlink', mode: 0, target });
  return new Map([...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The restored root holds exactly the declared files (by bytes and mode), links and dirs, and the databases' rows. */
function expectRestored(root: string, h: DeclaredHome, options: { withSecrets: boolean; alsoPresent?: string[]; dirMode?: number }): void {
  const isDatabase = (rel: string): boolean => Object.keys(h.databases).some((db) => rel === db || rel.startsWith(`${db}-`));
  const unlisted = new Set(options.alsoPresent ?? []);
  const actual = readTree(root, { skip: (rel) => isDatabase(rel) || unlisted.has(rel) });
  expect(new Map([...actual].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).toEqual(expectedTree(h, options.withSecrets, options.dirMode));
  for (const rel of unlisted) expect(fs.existsSync(path.join(root, rel)), rel).toBe(true);
  for (const [rel, db] of Object.entries(h.databases)) {
    const file = path.join(root, rel);
    expect(fs.statSync(file).mode & 0o7777, rel).toBe(parseInt(db.mode, 8));
    expect(databaseContent(file), rel).toEqual(db.rows);
  }
}

/** Import an archive into a fresh sandbox, verify the snapshot it became, restore it. */
async function importVerifyRestore(sandbox: string, file: string, extra: string[] = []): Promise<{ timestamp: string }> {
  const imported = json<{ import: { timestamp: string } }>(await expectOk(clawback(home, [sandbox, 'snapshot', 'import', file, ...extra, '--json'])));
  const verified = await clawback(home, [sandbox, 'snapshot', 'verify', imported.import.timestamp]);
  expect(verified.exitCode, String(verified.stdout) + String(verified.stderr)).toBe(0);
  await expectOk(clawback(home, [sandbox, 'snapshot', 'restore', imported.import.timestamp, '--yes', '--no-pre-restore']));
  return imported.import;
}

describe('frozen fixtures of format 1', () => {
  it('are stored byte for byte as they were written', () => {
    const sums = fs.readFileSync(path.join(FROZEN, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums.length).toBeGreaterThan(5);
    for (const line of sums) {
      const [sum, rel] = line.split(/ {2}/) as [string, string];
      expect(createHash('sha256').update(fs.readFileSync(path.join(FROZEN, rel))).digest('hex'), rel).toBe(sum);
    }
  });

  it('a bundle dir is listed, verified and restored', async () => {
    const root = await emptySandbox('frozen', 'openclaw');
    const bundle = path.join(FROZEN, 'bundle');
    const timestamp = (readJson(path.join(bundle, 'rebuild-manifest.json')) as { timestamp: string }).timestamp;
    fs.cpSync(bundle, path.join(home, 'rebuild-backups', 'frozen', timestamp), { recursive: true, verbatimSymlinks: true });

    const rows = json<{ snapshots: Array<Record<string, unknown>> }>(await expectOk(clawback(home, ['frozen', 'snapshot', 'list', '--json']))).snapshots;
    expect(rows).toMatchObject([{ version: 1, name: 'frozen-v1', timestamp, state: 'complete', files: 6 }]);
    const verified = await clawback(home, ['frozen', 'snapshot', 'verify', 'frozen-v1']);
    expect(verified.exitCode, String(verified.stdout) + String(verified.stderr)).toBe(0);
    await expectOk(clawback(home, ['frozen', 'snapshot', 'restore', 'frozen-v1', '--yes', '--no-pre-restore']));
    expectRestored(root, declared.openclaw, { withSecrets: true });
  });

  it('a tar.gz export is imported, verified and restored, without the secrets it never held', async () => {
    const root = await emptySandbox('target', 'openclaw');
    await importVerifyRestore('target', path.join(FROZEN, 'openclaw.tar.gz'));
    expectRestored(root, declared.openclaw, { withSecrets: false });
  });

  it('an encrypted export is imported with its passphrase file, verified and restored, secrets included', async () => {
    const root = await emptySandbox('target', 'openclaw');
    const passphrase = path.join(FROZEN, 'openclaw-encrypted.passphrase');
    const wrong = await clawback(home, ['target', 'snapshot', 'import', path.join(FROZEN, 'openclaw-encrypted.tar.gz')], { env: { CLAWBACK_PASSPHRASE: 'not it' } });
    expect(wrong.exitCode).toBe(6);
    await importVerifyRestore('target', path.join(FROZEN, 'openclaw-encrypted.tar.gz'), ['--passphrase-file', passphrase]);
    expectRestored(root, declared.openclaw, { withSecrets: true });
  });

  it('a QwenPaw zip is imported, verified and restored, its workspace paths pointing at this machine', async () => {
    const root = await emptySandbox('qp', 'qwenpaw');
    await importVerifyRestore('qp', path.join(FROZEN, 'qwenpaw.zip'));
    // A QwenPaw zip holds files only: its dirs come back with the importer's 0755.
    expectRestored(root, declared.qwenpaw, { withSecrets: false, alsoPresent: ['config.json', 'workspaces/default/agent.json'], dirMode: 0o755 });
    const workspace = path.join(root, 'workspaces', 'default');
    const config = readJson(path.join(root, 'config.json')) as { agents: { active_agent: string; profiles: Record<string, { workspace_dir: string }> } };
    expect(config.agents.active_agent).toBe('default');
    expect(Object.keys(config.agents.profiles)).toEqual(['default']);
    expect(config.agents.profiles.default!.workspace_dir).toBe(workspace);
    expect(readJson(path.join(workspace, 'agent.json'))).toMatchObject({ id: 'default', name: 'Default', workspace_dir: workspace });
  });
});
