import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeQwenPawZip } from '../../fixtures/qwenpaw-zip.js';
import { extractZipEntries, listZip } from '../../src/formats/zip.js';
import { expectOk, freshQwenPaw, qwenPawSource, readJson, workspaceTree, type QwenPawSource } from '../helpers/archives.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback, json } from '../helpers/cli.js';
import { databaseContent } from '../helpers/sqlite.js';
import { readTree } from '../helpers/tree.js';

interface ExportDoc {
  export: { output: string; qwenpawId: string; files: number; secrets: string };
}
interface ImportDoc {
  import: { timestamp: string; name: string | null; files: number; databases: string[]; origin: Record<string, string> };
}
interface RestoreDoc {
  restore: { warnings: string[] };
}

let source: QwenPawSource;
let zip: string;
let exported: ExportDoc['export'];

beforeAll(async () => {
  source = await qwenPawSource();
  zip = path.join(source.base, 'backup.zip');
  const result = await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', zip, '--format', 'qwenpaw-zip', '--include-secrets', '--json'], { env: { TZ: 'UTC' } }));
  exported = json<ExportDoc>(result).export;
});

afterAll(() => source?.cleanup());

const workspaceOf = (id: string): string => (id === 'research' ? path.join(source.base, 'src', 'elsewhere', 'research') : path.join(source.sample.root, 'workspaces', id));

/** Everything QwenPaw's backup holds, compared between the source machine and a restored one. */
function expectSameHome(root: string, locations: Record<string, string>): void {
  const config = readJson(path.join(root, 'config.json'));
  const original = readJson(path.join(source.sample.root, 'config.json')) as { agents: { profiles: Record<string, Record<string, unknown>> } };
  for (const [id, dir] of Object.entries(locations)) original.agents.profiles[id]!.workspace_dir = dir;
  expect(config).toEqual(original);
  for (const [id, dir] of Object.entries(locations)) {
    expect(workspaceTree(dir), id).toEqual(workspaceTree(workspaceOf(id)));
    expect(readJson(path.join(dir, 'agent.json')).workspace_dir, id).toBe(dir);
    expect(databaseContent(path.join(dir, 'chat_history.db')), id).toEqual(databaseContent(path.join(workspaceOf(id), 'chat_history.db')));
  }
  expect(readTree(path.join(root, 'skill_pool'))).toEqual(readTree(path.join(source.sample.root, 'skill_pool')));
  expect(readTree(`${root}.secret`)).toEqual(readTree(source.sample.secretsDir!));
  expect(fs.statSync(`${root}.secret`).mode & 0o777).toBe(0o700);
}

describe('QwenPaw backup zip', () => {
  it('follows the QwenPaw layout: meta.json first, then data/ files only, deflated, in section order', async () => {
    const entries = await listZip(zip);
    expect(entries[0]!.name).toBe('meta.json');
    const names = entries.slice(1).map((e) => e.name);
    for (const entry of entries) {
      expect(entry.isDirectory, entry.name).toBe(false);
      expect(entry.type, entry.name).toBe('file');
      expect(entry.compressionMethod, entry.name).toBe(8);
      expect(entry.name.includes('\\'), entry.name).toBe(false);
    }
    const section = (name: string): number =>
      name === 'data/config.json' ? 0 : name.startsWith('data/workspaces/') ? 1 : name.startsWith('data/skill_pool/') ? 2 : name.startsWith('data/secrets/') ? 3 : -1;
    expect(names.map(section)).not.toContain(-1);
    expect(names.map(section)).toEqual([...names.map(section)].sort((a, b) => a - b));
    expect(names[0]).toBe('data/config.json');
    expect(names.filter((n) => n.startsWith('data/workspaces/')).map((n) => n.split('/')[2])).toEqual(
      expect.arrayContaining(['default', 'research']),
    );
    expect(names).toEqual(expect.arrayContaining(['data/secrets/providers.json', 'data/secrets/master.key', 'data/workspaces/research/chat_history.db']));
    // browser caches and database companions are not part of a backup
    expect(names.some((n) => /Cache|GPUCache|-wal$|-shm$/.test(n))).toBe(false);
    expect(names.length).toBe(exported.files);
  });

  it('writes meta.json with every QwenPaw field, in order, with the right values', async () => {
    const out = path.join(source.base, 'meta-only');
    await extractZipEntries(zip, out, (name) => (name === 'meta.json' ? 'meta.json' : null));
    const meta = readJson(path.join(out, 'meta.json'));
    expect(Object.keys(meta)).toEqual(['id', 'name', 'description', 'created_at', 'version', 'scope', 'agent_count', 'qwenpaw_version', 'system_info', 'signature', 'accepted_via_trust']);
    const stamp = source.timestamp; // 2026-04-21T14-11-25-795Z
    const compact = `${stamp.slice(0, 19).replace(/-/g, '')}Z`;
    expect(meta.id).toMatch(/^qwenpaw-[A-Za-z0-9._-]+-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(meta.id).toBe(exported.qwenpawId);
    expect(String(meta.id)).toContain(`-${compact}-`);
    expect(meta.name).toBe(`Backup ${stamp.slice(0, 10)} ${stamp.slice(11, 13)}:${stamp.slice(14, 16)}`);
    expect(typeof meta.description).toBe('string');
    const iso = `${stamp.slice(0, 10)}T${stamp.slice(11, 13)}:${stamp.slice(14, 16)}:${stamp.slice(17, 19)}.${stamp.slice(20, 23)}Z`;
    expect(meta.created_at).toBe(iso);
    expect(meta.version).toBe('1');
    expect(meta.scope).toEqual({ include_agents: true, include_global_config: true, include_secrets: true, include_skill_pool: true });
    expect(meta.agent_count).toBe(2);
    expect(meta.qwenpaw_version).toBe('unknown');
    expect(meta.system_info).toEqual(expect.objectContaining({ os: expect.any(String), machine: expect.any(String) }));
    expect(meta.signature).toBeNull();
    expect(meta.accepted_via_trust).toBeNull();
  });

  it('round trip: snapshot → zip → import on a fresh machine → restore gives the same home', async () => {
    const { home, root } = freshQwenPaw(source.base, 'fresh');
    const imported = json<ImportDoc>(await expectOk(clawback(home, ['fresh', 'snapshot', 'import', zip, '--json']))).import;
    expect(imported.origin.qwenpawId).toBe(exported.qwenpawId);
    expect(imported.name).toMatch(/^Backup-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}$/);
    expect(imported.databases.sort()).toEqual(['workspaces/default/chat_history.db', 'workspaces/research/chat_history.db']);
    await expectOk(clawback(home, ['fresh', 'snapshot', 'verify', 'latest']));
    await expectOk(clawback(home, ['fresh', 'snapshot', 'restore', imported.name!, '--yes']));
    // Both agents come to <working dir>/workspaces/<id> on a machine that never had them.
    expectSameHome(root, { default: path.join(root, 'workspaces', 'default'), research: path.join(root, 'workspaces', 'research') });

    // Importing the same backup id again is refused; --overwrite replaces it.
    const again = await clawback(home, ['fresh', 'snapshot', 'import', zip]);
    expect(again.exitCode).toBe(5);
    expect(String(again.stderr)).toContain('--overwrite');
    const replaced = json<{ import: { replaced: string[] } }>(await expectOk(clawback(home, ['fresh', 'snapshot', 'import', zip, '--overwrite', '--json'])));
    expect(replaced.import.replaced).toEqual([imported.timestamp]);
    const left = bundleIds(home, 'fresh', { scratch: true });
    expect(left).toHaveLength(1);
    expect(left).not.toContain(imported.timestamp);
  });

  it('imports a zip laid out exactly as QwenPaw writes it, databases and all', async () => {
    const native = path.join(source.base, 'native.zip');
    const written = writeQwenPawZip({ workingDir: source.sample.root, out: native, name: 'Before upgrade (v1.1)' });
    expect(written.names[0]).toBe('meta.json');
    const { home, root } = freshQwenPaw(source.base, 'native');
    const imported = json<ImportDoc>(await expectOk(clawback(home, ['native', 'snapshot', 'import', native, '--json']))).import;
    expect(imported.name).toBe('Before-upgrade-v1.1');
    expect(imported.origin).toEqual(expect.objectContaining({ qwenpawId: written.id, qwenpawName: 'Before upgrade (v1.1)' }));
    await expectOk(clawback(home, ['native', 'snapshot', 'restore', 'Before-upgrade-v1.1', '--yes']));
    expectSameHome(root, { default: path.join(root, 'workspaces', 'default'), research: path.join(root, 'workspaces', 'research') });
  });

  it('merges the -wal an older QwenPaw zip carries raw into the imported database', async () => {
    const raw = path.join(source.base, 'raw.zip');
    const written = writeQwenPawZip({ workingDir: source.sample.root, out: raw, rawDatabases: true, includeSecrets: false });
    expect(written.names).toContain('data/workspaces/default/chat_history.db-wal');
    const { home, root } = freshQwenPaw(source.base, 'raw');
    const imported = json<ImportDoc & { import: { skipped: number } }>(await expectOk(clawback(home, ['raw', 'snapshot', 'import', raw, '--json']))).import;
    expect(imported.databases).toHaveLength(2);
    await expectOk(clawback(home, ['raw', 'snapshot', 'restore', 'latest', '--yes']));
    for (const id of ['default', 'research']) {
      const restored = path.join(root, 'workspaces', id, 'chat_history.db');
      // the rows that lived only in the -wal are there
      expect(databaseContent(restored), id).toEqual(databaseContent(path.join(workspaceOf(id), 'chat_history.db')));
      expect(fs.existsSync(`${restored}-shm`), id).toBe(false);
    }
    expect(fs.existsSync(`${root}.secret`)).toBe(false);
  });
});

describe('QwenPaw custom and full restore', () => {
  it('restores one agent to a new root on a machine without it; the other agents stay byte-identical', async () => {
    // "This machine" has only the default agent.
    const { home, root } = freshQwenPaw(source.base, 'custom');
    const defaultDir = path.join(root, 'workspaces', 'default');
    fs.cpSync(workspaceOf('default'), defaultDir, { recursive: true, preserveTimestamps: true });
    const config = readJson(path.join(source.sample.root, 'config.json')) as { agents: { profiles: Record<string, { workspace_dir: string }> } };
    delete config.agents.profiles.research;
    config.agents.profiles.default!.workspace_dir = defaultDir;
    fs.writeFileSync(path.join(root, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    fs.writeFileSync(path.join(defaultDir, 'SOUL.md'), 'changed on this machine\n');
    const before = readTree(defaultDir);
    const configBefore = readJson(path.join(root, 'config.json'));

    await expectOk(clawback(home, ['custom', 'snapshot', 'import', zip]));
    const newRoot = path.join(source.base, 'agents-elsewhere');
    await expectOk(clawback(home, ['custom', 'snapshot', 'restore', 'latest', '--only', 'workspaces', '--agent', 'research', '--new-agent-root', newRoot, '--yes']));

    const research = path.join(newRoot, 'research');
    expect(workspaceTree(research)).toEqual(workspaceTree(workspaceOf('research')));
    expect(readJson(path.join(research, 'agent.json')).workspace_dir).toBe(research);
    const after = readJson(path.join(root, 'config.json')) as { agents: { profiles: Record<string, unknown> } };
    const expected = configBefore as { agents: { profiles: Record<string, unknown> } };
    expect(after).toEqual({
      ...expected,
      agents: { ...expected.agents, profiles: { ...expected.agents.profiles, research: { id: 'research', workspace_dir: research, enabled: true } } },
    });
    // the agent outside the selection is untouched, bytes and modes
    expect(readTree(defaultDir)).toEqual(before);
    expect(fs.readFileSync(path.join(defaultDir, 'SOUL.md'), 'utf8')).toBe('changed on this machine\n');
    // nothing else was restored: no skill pool, no secrets
    expect(fs.existsSync(path.join(root, 'skill_pool'))).toBe(false);
    expect(fs.existsSync(`${root}.secret`) ? fs.readdirSync(`${root}.secret`) : []).toEqual([]);
  });

  it('swaps the working dir (config.json) last: killed after the first swap, no registry names a missing workspace', async () => {
    const { home, root } = freshQwenPaw(source.base, 'killed');
    await expectOk(clawback(home, ['killed', 'snapshot', 'import', zip]));
    // A longer path than the working dir's, so path order alone would swap the working dir first.
    const elsewhere = path.join(source.base, 'killed-agents-placed-well-away-from-the-working-dir');
    const killed = await clawback(home, ['killed', 'snapshot', 'restore', 'latest', '--yes', '--new-agent-root', elsewhere], { env: { CLAWBACK_TEST_FAULT: 'restore:renamed-staged-0' } });
    expect(killed.signal).toBe('SIGKILL');
    // One directory is in place, and it is not the working dir: config.json comes last.
    expect(fs.readdirSync(root)).toEqual([]);
    const placed = [`${root}.secret`, path.join(elsewhere, 'default'), path.join(elsewhere, 'research')].filter((dir) => fs.existsSync(dir));
    expect(placed).toHaveLength(1);
    // The next command rolls the interrupted restore back.
    await expectOk(clawback(home, ['killed', 'snapshot', 'list']));
    expect(fs.readdirSync(root)).toEqual([]);
    expect(fs.existsSync(elsewhere) ? fs.readdirSync(elsewhere) : []).toEqual([]);
  });

  it('a full restore drops agents the snapshot lacks from agents.profiles and reports, not deletes, their folders', async () => {
    const sample = source.sample;
    const extraDir = path.join(sample.root, 'workspaces', 'scratch');
    fs.mkdirSync(extraDir, { recursive: true });
    fs.writeFileSync(path.join(extraDir, 'notes.md'), 'made after the snapshot\n');
    const configFile = path.join(sample.root, 'config.json');
    const original = fs.readFileSync(configFile);
    try {
      const config = readJson(configFile) as { agents: { profiles: Record<string, unknown> } };
      config.agents.profiles.scratch = { id: 'scratch', workspace_dir: extraDir, enabled: true };
      fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');

      const restored = json<RestoreDoc>(await expectOk(clawback(source.home, ['qp', 'snapshot', 'restore', source.timestamp, '--yes', '--no-pre-restore', '--json'])));
      expect(restored.restore.warnings).toContainEqual(expect.stringContaining(`agent scratch is not in the snapshot`));
      expect(restored.restore.warnings).toContainEqual(expect.stringContaining(extraDir));
      expect(fs.readFileSync(path.join(extraDir, 'notes.md'), 'utf8')).toBe('made after the snapshot\n');
      // back to the snapshot's registry, byte for byte (same machine, same locations)
      expect(fs.readFileSync(configFile).equals(original)).toBe(true);
    } finally {
      fs.rmSync(extraDir, { recursive: true, force: true });
      fs.writeFileSync(configFile, original);
    }
  });
});
