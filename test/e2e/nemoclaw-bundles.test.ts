import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { writeNemoClawBundle, writeNemoClawScriptBackup } from '../../fixtures/nemoclaw-bundle.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { readTree } from '../helpers/tree.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

interface Setup {
  home: string;
  root: string;
  cli: (...args: string[]) => ReturnType<typeof clawback>;
}

/** A clawback home that is NemoClaw's own (~/.nemoclaw), one sandbox of `agent` with a live home. */
async function setup(agent: 'openclaw' | 'hermes'): Promise<Setup> {
  const base = tempDir();
  dirs.push(base);
  const home = path.join(base, '.nemoclaw');
  const root = path.join(base, agent === 'hermes' ? '.hermes' : '.openclaw');
  fs.mkdirSync(root, { recursive: true });
  const cli = (...args: string[]): ReturnType<typeof clawback> => clawback(home, args);
  const added = await cli('sandbox', 'add', 'box', '--agent', agent, '--root', root);
  expect(added.exitCode, String(added.stderr)).toBe(0);
  return { home, root, cli };
}

function notes(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT body FROM notes ORDER BY id').all() as Array<{ body: string }>).map((r) => r.body);
  } finally {
    db.close();
  }
}

interface ListRow {
  version: number | null;
  id: string;
  state: string;
  legacy: boolean;
  name: string | null;
  files: number | null;
}

describe('NemoClaw bundles (nemoclaw-v1)', () => {
  it('lists, shows, verifies and restores a Hermes bundle NemoClaw wrote, and never changes it', async () => {
    const s = await setup('hermes');
    fs.writeFileSync(path.join(s.root, 'config.yaml'), 'model: live\n');
    fs.writeFileSync(path.join(s.root, 'SOUL.md'), 'changed since\n');
    fs.mkdirSync(path.join(s.root, 'memories'));
    fs.writeFileSync(path.join(s.root, 'memories/NEW.md'), 'added since the NemoClaw bundle\n');
    const first = await s.cli('box', 'snapshot', 'create', '--name', 'mine');
    expect(first.exitCode, String(first.stderr)).toBe(0);
    const bundle = writeNemoClawBundle(s.home, { sandbox: 'box', agent: 'hermes', time: new Date('2020-01-01T00:00:00.000Z'), name: 'before-upgrade' });
    const before = readTree(bundle.dir, { times: true, withRoot: true });

    const listed = await s.cli('box', 'snapshot', 'list', '--json');
    expect(listed.exitCode, String(listed.stderr)).toBe(0);
    const rows = json<{ snapshots: ListRow[] }>(listed).snapshots;
    expect(rows.map((r) => [r.version, r.id, r.state, r.legacy])).toEqual([
      [1, bundle.timestamp, 'complete', true],
      [2, expect.any(String), 'complete', false],
    ]);
    expect(rows[0]!.files).toBe(7);
    // --wide: the label whole (at 80 columns the Name column gives way first).
    const text = await s.cli('box', 'snapshot', 'list', '--wide');
    expect(String(text.stdout)).toMatch(/^v1 \(legacy\) +[0-9a-f]{8} +\S+ +before-upgrade /m);

    const shown = await s.cli('box', 'snapshot', 'show', 'before-upgrade', '--json');
    expect(shown.exitCode, String(shown.stderr)).toBe(0);
    const detail = json<{ snapshot: { format: string; databases: string[]; nemoclaw: { dir: string; stateFiles: unknown[] } } }>(shown).snapshot;
    expect(detail.format).toBe('nemoclaw-v1');
    expect(detail.databases).toEqual(['runtime/state.db']);
    expect(detail.nemoclaw.dir).toBe('/sandbox/.hermes');

    const verified = await s.cli('box', 'snapshot', 'verify', 'v1');
    expect(verified.exitCode, String(verified.stderr)).toBe(0);
    expect(String(verified.stdout)).toMatch(/no hashes/);
    const verifiedJson = json<{ bundles: Array<{ hashes: boolean; format: string; ok: boolean }> }>(await s.cli('box', 'snapshot', 'verify', 'v1', '--json'));
    expect(verifiedJson.bundles[0]).toMatchObject({ hashes: false, format: 'nemoclaw-v1', ok: true });

    const restored = await s.cli('box', 'snapshot', 'restore', 'v1', '--yes', '--json');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<{ restore: { preRestore: { selector: string } | null } }>(restored);
    expect(doc.restore.preRestore?.selector).toMatch(/^pre-restore-/);
    for (const [rel, bytes] of bundle.files) {
      if (rel.endsWith('.db')) continue;
      expect(fs.readFileSync(path.join(s.root, rel)), rel).toEqual(bytes);
    }
    expect(notes(path.join(s.root, 'runtime/state.db'))).toEqual(bundle.rows.get('runtime/state.db'));
    // Within what the bundle holds the home is the snapshot; the rest is untouched.
    expect(fs.existsSync(path.join(s.root, 'memories/NEW.md'))).toBe(false);
    expect(fs.readFileSync(path.join(s.root, 'config.yaml'), 'utf8')).toBe('model: live\n');

    const diffed = await s.cli('box', 'snapshot', 'diff', 'v1', '--json');
    expect(diffed.exitCode, String(diffed.stderr)).toBe(0);
    const exported = await s.cli('box', 'snapshot', 'export', 'v1', '-o', path.join(s.home, '..', 'out.tar.gz'));
    expect(exported.exitCode, String(exported.stderr)).toBe(0);

    expect(readTree(bundle.dir, { times: true, withRoot: true })).toEqual(before);
  });

  it('verify fails, naming the file, when a database in the bundle is damaged', async () => {
    const s = await setup('hermes');
    const bundle = writeNemoClawBundle(s.home, { sandbox: 'box', agent: 'hermes' });
    const db = path.join(bundle.dir, 'runtime/state.db');
    const bytes = fs.readFileSync(db);
    bytes.fill(0x41, 100, 4096 * 2);
    fs.writeFileSync(db, bytes);
    const verified = await s.cli('box', 'snapshot', 'verify', 'v1');
    expect(verified.exitCode).toBe(6);
    expect(String(verified.stdout)).toMatch(/runtime\/state\.db: (damaged SQLite database|SQLite cannot read it)/);
  });

  it('refuses to verify or restore a bundle with a link that leaves it', async () => {
    const s = await setup('openclaw');
    const bundle = writeNemoClawBundle(s.home, { sandbox: 'box', agent: 'openclaw' });
    fs.symlinkSync('/etc/passwd', path.join(bundle.dir, 'workspace/passwd'));
    const verified = await s.cli('box', 'snapshot', 'verify', 'v1');
    expect(verified.exitCode).toBe(6);
    expect(String(verified.stdout)).toMatch(/workspace\/passwd: an unsafe symlink/);
    const restored = await s.cli('box', 'snapshot', 'restore', 'v1', '--yes');
    expect(restored.exitCode).toBe(5);
    expect(fs.readdirSync(s.root)).toEqual([]);
  });

  it('imports an old backups/<timestamp>/ dir and a NemoClaw bundle dir as clawback bundles', async () => {
    const s = await setup('openclaw');
    const old = writeNemoClawScriptBackup(s.home);
    const imported = await s.cli('box', 'snapshot', 'import', old.dir, '--json');
    expect(imported.exitCode, String(imported.stderr)).toBe(0);
    expect(json<{ import: { format: string } }>(imported).import.format).toBe('nemoclaw-backup-dir');
    const elsewhere = writeNemoClawBundle(path.join(s.home, '..', 'other-machine'), { sandbox: 'far', agent: 'openclaw' });
    const second = await s.cli('box', 'snapshot', 'import', elsewhere.dir, '--json');
    expect(second.exitCode, String(second.stderr)).toBe(0);
    const rows = json<{ snapshots: ListRow[] }>(await s.cli('box', 'snapshot', 'list', '--json')).snapshots;
    expect(rows.map((r) => [r.state, r.legacy])).toEqual([
      ['complete', false],
      ['complete', false],
    ]);
    const verified = await s.cli('box', 'snapshot', 'verify', '--all');
    expect(verified.exitCode, String(verified.stdout)).toBe(0);
    const restored = await s.cli('box', 'snapshot', 'restore', 'v1', '--yes');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(fs.readFileSync(path.join(s.root, 'workspace/SOUL.md'))).toEqual(old.files.get('SOUL.md'));
    expect(fs.readFileSync(path.join(s.root, 'workspace/memory/2026-04-20.md'))).toEqual(old.files.get('memory/2026-04-20.md'));
    expect(fs.readFileSync(path.join(s.root, 'workspace-research/AGENTS.md'))).toEqual(old.files.get('workspace-research/AGENTS.md'));
  });

  it('prune and delete remove a NemoClaw bundle like any other', async () => {
    const s = await setup('openclaw');
    const a = writeNemoClawBundle(s.home, { sandbox: 'box', agent: 'openclaw', time: new Date('2026-01-01T00:00:00.000Z') });
    const b = writeNemoClawBundle(s.home, { sandbox: 'box', agent: 'openclaw', time: new Date('2026-02-01T00:00:00.000Z') });
    const deleted = await s.cli('box', 'snapshot', 'delete', 'v1', '--yes');
    expect(deleted.exitCode, String(deleted.stderr)).toBe(0);
    expect(fs.existsSync(a.dir)).toBe(false);
    fs.writeFileSync(path.join(s.root, 'x.md'), 'x\n');
    expect((await s.cli('box', 'snapshot', 'create')).exitCode).toBe(0);
    const pruned = await s.cli('box', 'snapshot', 'prune', '--keep-last', '1');
    expect(pruned.exitCode, String(pruned.stderr)).toBe(0);
    expect(fs.existsSync(b.dir)).toBe(false);
  });
});
