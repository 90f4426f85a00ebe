import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { createSnapshot } from '../../src/engine/capture/create.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback, json, REPO, tempDir } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';
import { makeFifo } from '../helpers/hooks.js';
import { writeDatabaseRow } from '../helpers/sqlite.js';
import { treeDigest } from '../helpers/tree.js';

interface ListDoc {
  snapshots: Array<{ version: number | null; name: string | null; timestamp: string; state: string; files: number | null; path: string }>;
}
interface CreateDoc {
  snapshot: { timestamp: string; dir: string; files: number; linkedFiles: number; copiedFiles: number; databases: string[] };
}

let base: string;
let home: string;
let sample: GeneratedHome;

function payload(dir: string, rel: string): string {
  return path.join(dir, 'payload', ...rel.split('/'));
}

beforeEach(async () => {
  base = tempDir();
  home = path.join(base, 'home');
  sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') });
  const added = await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', sample.root]);
  expect(added.exitCode).toBe(0);
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('snapshot create / list / show', () => {
  it('captures the home, leaves caches and machine-local state out, and lists and shows it', async () => {
    const created = await clawback(home, ['oc', 'snapshot', 'create', '--name', 'before-upgrade', '--json']);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const doc = json<CreateDoc>(created);
    const dir = doc.snapshot.dir;
    expect(fs.existsSync(path.join(dir, 'rebuild-manifest.json'))).toBe(true);
    expect(fs.statSync(path.join(dir, 'rebuild-manifest.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);

    // bytes of user files are identical
    for (const rel of ['workspace/SOUL.md', 'openclaw.json', 'credentials/oauth.json', '.env']) {
      expect(fs.readFileSync(payload(dir, rel)).equals(fs.readFileSync(path.join(sample.root, rel))), rel).toBe(true);
    }
    // caches, logs and machine-local state are not captured
    expect(fs.existsSync(payload(dir, 'browser'))).toBe(false);
    expect(fs.existsSync(payload(dir, 'logs'))).toBe(false);
    expect(fs.existsSync(payload(dir, 'identity'))).toBe(false);
    // relative symlinks stay links with the same target
    const links = fs.readdirSync(path.join(sample.root, 'workspace'), { withFileTypes: true }).filter((d) => d.isSymbolicLink());
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      const rel = `workspace/${link.name}`;
      expect(fs.readlinkSync(payload(dir, rel))).toBe(fs.readlinkSync(path.join(sample.root, rel)));
    }
    // the database is a consistent copy with the rows, and its -wal/-shm are not in the bundle
    const dbRel = path.relative(sample.root, sample.databases[0]!).split(path.sep).join('/');
    expect(doc.snapshot.databases).toContain(dbRel);
    expect(fs.existsSync(payload(dir, dbRel) + '-wal')).toBe(false);
    const copy = new Database(payload(dir, dbRel), { readonly: true });
    const counts = sample.rowCounts[sample.databases[0]!]!;
    for (const [table, rows] of Object.entries(counts)) {
      expect((copy.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n).toBe(rows);
    }
    copy.close();

    const list = await clawback(home, ['oc', 'snapshot', 'list', '--json']);
    expect(list.exitCode).toBe(0);
    const rows = json<ListDoc>(list).snapshots;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ version: 1, name: 'before-upgrade', state: 'complete', files: doc.snapshot.files });

    const text = await clawback(home, ['oc', 'snapshot', 'list']);
    expect(String(text.stdout)).toMatch(/^v1 +[0-9a-f]{8} +\S+ +before-upgrade /m);

    for (const selector of ['v1', 'latest', 'before-upgrade', doc.snapshot.timestamp, doc.snapshot.timestamp.slice(0, 10)]) {
      const show = await clawback(home, ['oc', 'snapshot', 'show', selector, '--json']);
      expect(show.exitCode, selector).toBe(0);
      const shown = json<{ snapshot: { name: string; totals: { files: number }; skipped: Record<string, number> } }>(show).snapshot;
      expect(shown.name).toBe('before-upgrade');
      expect(shown.totals.files).toBe(doc.snapshot.files);
      expect(shown.skipped.excluded).toBeGreaterThan(0);
      expect(shown.skipped.machine_local).toBeGreaterThan(0);
    }
  });

  it('resolves selectors and refuses ambiguous or unknown ones with the right codes', async () => {
    expect((await clawback(home, ['oc', 'snapshot', 'create'])).exitCode).toBe(0);
    expect((await clawback(home, ['oc', 'snapshot', 'create'])).exitCode).toBe(0);
    const ambiguous = await clawback(home, ['oc', 'snapshot', 'show', '20']);
    expect(ambiguous.exitCode).toBe(2);
    expect(String(ambiguous.stderr)).toMatch(/matches 2 snapshots/);
    expect(String(ambiguous.stderr)).toMatch(/v1 20/);
    expect((await clawback(home, ['oc', 'snapshot', 'show', 'v3'])).exitCode).toBe(4);
    expect((await clawback(home, ['nope', 'snapshot', 'list'])).exitCode).toBe(4);
    const jsonErr = await clawback(home, ['oc', 'snapshot', 'show', 'v9', '--json']);
    expect(JSON.parse(String(jsonErr.stderr))).toMatchObject({ code: 'bundle-not-found', exitCode: 4 });
  });

  it('refuses duplicate and invalid labels', async () => {
    expect((await clawback(home, ['oc', 'snapshot', 'create', '--name', 'keep.me_1'])).exitCode).toBe(0);
    const dup = await clawback(home, ['oc', 'snapshot', 'create', '--name', 'keep.me_1']);
    expect(dup.exitCode).toBe(5);
    expect(String(dup.stderr)).toMatch(/already has a snapshot named/);
    for (const bad of ['v3', '-x', 'a b', '.hidden', 'x'.repeat(64), 'latest']) {
      const result = await clawback(home, ['oc', 'snapshot', 'create', `--name=${bad}`]);
      expect(result.exitCode, bad).toBe(2);
    }
    expect(bundleIds(home, 'oc')).toHaveLength(1);
  });

  it('refuses absolute and escaping symlinks before writing anything (exit 5)', async () => {
    fs.symlinkSync('/etc/passwd', path.join(sample.root, 'workspace', 'abs-link'));
    fs.symlinkSync('../../../outside', path.join(sample.root, 'workspace', 'escape'));
    const result = await clawback(home, ['oc', 'snapshot', 'create']);
    expect(result.exitCode).toBe(5);
    expect(String(result.stderr)).toContain('workspace/abs-link -> /etc/passwd');
    expect(String(result.stderr)).toContain('workspace/escape -> ../../../outside');
    expect(bundleIds(home, 'oc')).toHaveLength(0);
  });

  it('never captures a clawback home that lies inside the state root', async () => {
    const inside = path.join(sample.root, 'backups', 'clawback');
    expect((await clawback(inside, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', sample.root])).exitCode).toBe(0);
    const first = json<CreateDoc>(await clawback(inside, ['oc', 'snapshot', 'create', '--json']));
    const second = json<CreateDoc>(await clawback(inside, ['oc', 'snapshot', 'create', '--json']));
    expect(second.snapshot.files).toBe(first.snapshot.files);
    expect(fs.existsSync(payload(second.snapshot.dir, 'backups/clawback'))).toBe(false);
    const shown = json<{ snapshot: { skipped: Record<string, number> } }>(await clawback(inside, ['oc', 'snapshot', 'show', 'latest', '--json']));
    expect(shown.snapshot.skipped['clawback home (never captured)']).toBe(1);
  });

  it('refuses a FIFO (exit 5)', async () => {
    makeFifo(path.join(sample.root, 'workspace', 'pipe'));
    const result = await clawback(home, ['oc', 'snapshot', 'create']);
    expect(result.exitCode).toBe(5);
    expect(String(result.stderr)).toContain('workspace/pipe (FIFO)');
  });

  it('an unchanged re-snapshot hard-links every file, databases included, and leaves the live database bytes alone', async () => {
    const db = sample.databases[0]!;
    const before = fs.readFileSync(db);
    const first = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    expect(fs.readFileSync(db).equals(before)).toBe(true);
    const second = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    expect(second.snapshot.files).toBe(first.snapshot.files);
    expect(second.snapshot.linkedFiles).toBe(first.snapshot.files);
    expect(second.snapshot.copiedFiles).toBe(0);
    expect(second.snapshot.databases).toEqual(first.snapshot.databases);
    const a = payload(first.snapshot.dir, 'workspace/SOUL.md');
    const b = payload(second.snapshot.dir, 'workspace/SOUL.md');
    expect(fs.statSync(a).ino).toBe(fs.statSync(b).ino);
    expect(fs.statSync(b).nlink).toBe(2);
    // a changed file is copied, not linked
    fs.appendFileSync(path.join(sample.root, 'workspace', 'SOUL.md'), 'changed\n');
    const third = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    const c = payload(third.snapshot.dir, 'workspace/SOUL.md');
    expect(fs.statSync(c).ino).not.toBe(fs.statSync(b).ino);
    expect(fs.readFileSync(c, 'utf8')).toMatch(/changed\n$/);
    expect(fs.readFileSync(b, 'utf8')).not.toMatch(/changed\n$/);
  });

  it('SQLite is loaded by a snapshot that copies a database, not by one that links every file', async () => {
    // At exit the probe names the CommonJS modules the process loaded (better-sqlite3 is one).
    const probe = path.join(base, 'modules-probe.mjs');
    fs.writeFileSync(probe, "import { createRequire } from 'node:module';\nconst loaded = createRequire(import.meta.url).cache;\nprocess.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify(Object.keys(loaded)) + '\\n'));\n");
    const sqliteLoaded = async (): Promise<{ doc: CreateDoc; sqlite: boolean }> => {
      const result = await execa('node', [path.join(REPO, 'bin', 'clawback.js'), 'oc', 'snapshot', 'create', '--json'], { reject: false, env: { ...process.env, CLAWBACK_HOME: home, NO_COLOR: '1', NODE_OPTIONS: `--import ${probe}` } });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      const modules = JSON.parse(/^MODULES (.*)$/m.exec(String(result.stderr))![1]!) as string[];
      return { doc: JSON.parse(String(result.stdout)) as CreateDoc, sqlite: modules.some((m) => m.includes(`${path.sep}better-sqlite3${path.sep}`)) };
    };
    const first = await sqliteLoaded();
    expect(first.doc.snapshot.databases.length).toBeGreaterThan(0);
    expect(first.sqlite).toBe(true);
    const second = await sqliteLoaded();
    expect(second.doc.snapshot.copiedFiles).toBe(0);
    expect(second.sqlite).toBe(false);
  });

  it('an unchanged file whose previous copy cannot be linked is copied afresh with its hash', async () => {
    const first = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    fs.rmSync(payload(first.snapshot.dir, 'workspace/SOUL.md'));
    const second = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    expect(second.snapshot.copiedFiles).toBe(1);
    expect(second.snapshot.linkedFiles).toBe(first.snapshot.files - 1);
    const copy = payload(second.snapshot.dir, 'workspace/SOUL.md');
    expect(fs.readFileSync(copy).equals(fs.readFileSync(path.join(sample.root, 'workspace', 'SOUL.md')))).toBe(true);
    const show = json<{ snapshot: { totals: { files: number } } }>(await clawback(home, ['oc', 'snapshot', 'show', 'latest', '--json']));
    expect(show.snapshot.totals.files).toBe(first.snapshot.files);
    const verify = await clawback(home, ['oc', 'snapshot', 'verify', 'latest']);
    expect(verify.exitCode, String(verify.stdout)).toBe(0);
  });

  it('an unchanged database is reused, a written one is backed up again with the new rows', async () => {
    const db = sample.databases[0]!;
    const rel = path.relative(sample.root, db).split(path.sep).join('/');
    await clawback(home, ['oc', 'snapshot', 'create']);
    const second = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    const third = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    expect(third.snapshot.copiedFiles).toBe(0);
    expect(fs.statSync(payload(third.snapshot.dir, rel)).ino).toBe(fs.statSync(payload(second.snapshot.dir, rel)).ino);
    const conn = new Database(db);
    conn.pragma('journal_mode = WAL');
    conn.exec('CREATE TABLE IF NOT EXISTS marker(v TEXT)');
    conn.prepare('INSERT INTO marker VALUES (?)').run('after-third');
    const fourth = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    conn.close();
    expect(fourth.snapshot.copiedFiles).toBe(1);
    const copy = new Database(payload(fourth.snapshot.dir, rel), { readonly: true });
    expect(copy.prepare('SELECT v FROM marker').pluck().all()).toEqual(['after-third']);
    copy.close();
  });

  it('a crash before the rename leaves an incomplete bundle that is listed as such and never used', async () => {
    const killed = await clawback(home, ['oc', 'snapshot', 'create', '--name', 'crashy'], { env: { CLAWBACK_TEST_FAULT: 'create:before-rename' } });
    expect(killed.signal).toBe('SIGKILL');
    const rows = json<ListDoc>(await clawback(home, ['oc', 'snapshot', 'list', '--json'])).snapshots;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'partial', version: null });
    expect((await clawback(home, ['oc', 'snapshot', 'show', 'latest'])).exitCode).toBe(4);
    expect((await clawback(home, ['oc', 'snapshot', 'show', 'crashy'])).exitCode).toBe(4);
    // the label of a crashed attempt is free again
    expect((await clawback(home, ['oc', 'snapshot', 'create', '--name', 'crashy'])).exitCode).toBe(0);
  });
});

/**
 * Fault points in the order a create passes them, with the bundles a SIGKILL there leaves beside the
 * complete v1: before the rename the attempt is at most a `.partial`; from the rename on it is complete.
 */
const CREATE_POINTS: Array<{ point: string; complete: number; partial: number }> = [
  { point: 'create:scanned', complete: 1, partial: 0 },
  { point: 'create:mid-copy', complete: 1, partial: 1 },
  { point: 'create:before-manifest', complete: 1, partial: 1 },
  { point: 'create:manifest-written', complete: 1, partial: 1 },
  { point: 'create:before-rename', complete: 1, partial: 1 },
  { point: 'create:renamed', complete: 2, partial: 0 },
  { point: 'create:synced', complete: 2, partial: 0 },
];

interface VerifyDoc {
  bundles: Array<{ id: string; ok: boolean; problems: Array<{ path: string; problem: string }> }>;
}

describe('a snapshot create killed with SIGKILL at each point', () => {
  it.each(CREATE_POINTS)('at $point never leaves a complete-looking broken bundle, nor touches the live home', async ({ point, complete, partial }) => {
    // v1 first, so the killed create also hard-links from a bundle it must leave intact; then
    // changes (a file, a new file, a database write) it has to copy.
    await createSnapshot({ sandbox: 'oc', scope: {} }, testDeps(home));
    fs.appendFileSync(path.join(sample.root, 'workspace', 'SOUL.md'), 'changed after v1\n');
    fs.writeFileSync(path.join(sample.root, 'workspace', 'NEW.md'), 'added after v1\n');
    writeDatabaseRow(sample.databases[0]!);
    const live = treeDigest(sample.root, { databasesByContent: true });

    const killed = await clawback(home, ['oc', 'snapshot', 'create'], { env: { CLAWBACK_TEST_FAULT: point } });
    expect(killed.signal, `${point} was never reached: ${String(killed.stderr)}`).toBe('SIGKILL');
    expect(treeDigest(sample.root, { databasesByContent: true })).toEqual(live);

    const rows = json<ListDoc>(await clawback(home, ['oc', 'snapshot', 'list', '--json'])).snapshots;
    expect(rows.filter((r) => r.state === 'complete')).toHaveLength(complete);
    expect(rows.filter((r) => r.state === 'partial')).toHaveLength(partial);
    expect(rows).toHaveLength(complete + partial);
    const verify = json<VerifyDoc>(await clawback(home, ['oc', 'snapshot', 'verify', '--all', '--json']));
    const verified = new Map(verify.bundles.map((b) => [b.id, b]));
    for (const row of rows) {
      const bundle = verified.get(path.basename(row.path));
      expect(bundle, row.path).toBeDefined();
      // listed complete only if it verifies; a partial is reported as one, never as good
      expect(bundle!.ok, `${row.path}: ${JSON.stringify(bundle!.problems)}`).toBe(row.state === 'complete');
    }

    const next = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
    expect(next.exitCode, String(next.stderr)).toBe(0);
    const after = await clawback(home, ['oc', 'snapshot', 'verify', json<CreateDoc>(next).snapshot.timestamp]);
    expect(after.exitCode, String(after.stdout)).toBe(0);
  });
});

describe('SQLite under a concurrent writer', () => {
  it('the copy is consistent and has a row count between before and after', async () => {
    const db = sample.databases[0]!;
    const writer = execa('node', [path.join(REPO, 'dist', 'fixtures', 'sqlite-writer.js'), db, '2'], { reject: false });
    await new Promise<void>((resolve, reject) => {
      writer.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      writer.catch(reject);
    });
    const count = (): number => {
      const conn = new Database(db, { readonly: true });
      try {
        return (conn.prepare('SELECT count(*) AS n FROM writes').get() as { n: number }).n;
      } finally {
        conn.close();
      }
    };
    const before = count();
    const created = await clawback(home, ['oc', 'snapshot', 'create', '--json']);
    const after = count();
    writer.kill('SIGTERM');
    await writer;
    expect(created.exitCode, String(created.stderr)).toBe(0);
    expect(after).toBeGreaterThan(before);
    const doc = json<CreateDoc>(created);
    const rel = path.relative(sample.root, db).split(path.sep).join('/');
    const copy = new Database(payload(doc.snapshot.dir, rel), { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const n = (copy.prepare('SELECT count(*) AS n FROM writes').get() as { n: number }).n;
      expect(n).toBeGreaterThanOrEqual(before);
      expect(n).toBeLessThanOrEqual(after);
    } finally {
      copy.close();
    }
  });
});
