import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBigWalDatabase } from '../../fixtures/big-database.js';
import { manifestJson } from '../helpers/bundles.js';
import { clawback, json, tempDir } from '../helpers/cli.js';

/**
 * A database large enough that its copy is hashed on a worker thread while quick_check reads it
 * on the main one (src/engine/capture/copy-hash.ts: 32 MiB or more). The manifest's sha256 is the
 * copy's, the copy holds every committed row, and a damaged database still fails its check and is
 * captured as raw bytes, as a small one is.
 */
const DB_BYTES = 36 * 1024 * 1024;
const DB_REL = 'memory/main.sqlite';

let base: string;
let home: string;
let root: string;
let live: string;

interface Created {
  snapshot: { dir: string; warnings: string[]; degraded: Array<{ path: string }> };
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function entryOf(dir: string): { sha256?: string; size?: number; strategy?: string } | undefined {
  const manifest = manifestJson(dir) as unknown as { entries: Array<{ path: string; sha256?: string; size?: number; strategy?: string }> };
  return manifest.entries.find((e) => e.path === DB_REL);
}

beforeAll(async () => {
  base = tempDir('clawback-sqlite-large-');
  home = path.join(base, 'home');
  root = path.join(base, 'root');
  live = path.join(root, DB_REL);
  createBigWalDatabase(live, DB_BYTES);
  expect(fs.statSync(live).size).toBeGreaterThan(32 * 1024 * 1024);
  const added = await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
});

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('a large database', () => {
  it('open in WAL mode with a commit in its -wal: the copy has every row, a rollback journal, and the sha256 the manifest records', async () => {
    const writer = new Database(live);
    let rows: number;
    try {
      writer.exec('CREATE TABLE IF NOT EXISTS late(x TEXT)');
      writer.prepare('INSERT INTO late VALUES (?)').run('committed in the -wal');
      expect(fs.existsSync(live + '-wal')).toBe(true);
      rows = (writer.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
      const created = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
      expect(created.exitCode, String(created.stderr)).toBe(0);
      const { dir } = json<Created>(created).snapshot;
      const copy = path.join(dir, 'payload', DB_REL);
      expect(entryOf(dir)).toMatchObject({ strategy: 'sqlite_backup', sha256: sha256(copy), size: fs.statSync(copy).size });
      expect(fs.readFileSync(copy).subarray(18, 20)).toEqual(Buffer.from([1, 1]));
      const db = new Database(copy, { readonly: true });
      try {
        expect((db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n).toBe(rows);
        expect(db.prepare('SELECT x FROM late').all()).toEqual([{ x: 'committed in the -wal' }]);
      } finally {
        db.close();
      }
    } finally {
      writer.close();
    }
    const verified = await clawback(home, ['oc', 'snapshot', 'verify', 'latest']);
    expect(verified.exitCode, String(verified.stderr)).toBe(0);
  });

  it('damaged in the middle: quick_check of the copy fails, and it is captured as raw bytes and named (exit 3)', async () => {
    const bytes = fs.readFileSync(live);
    const page = Math.floor(bytes.length / 4096 / 2) * 4096;
    bytes.fill(0xff, page, page + 2000);
    fs.writeFileSync(live, bytes);
    const created = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
    expect(created.exitCode, String(created.stderr)).toBe(3);
    const doc = json<Created>(created).snapshot;
    expect(doc.warnings.join('\n')).toMatch(/memory\/main\.sqlite: SQLite cannot read it \(.+\); captured as raw bytes/);
    expect(doc.degraded.map((d) => d.path)).toEqual([DB_REL]);
    const copy = path.join(doc.dir, 'payload', DB_REL);
    expect(fs.readFileSync(copy).equals(bytes)).toBe(true);
    expect(entryOf(doc.dir)).toMatchObject({ strategy: 'copy', sha256: sha256(live) });
  });
});
