import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { clawback, json, REPO, tempDir } from '../helpers/cli.js';
import { sha256File } from '../helpers/bundles.js';
import { damageRootPage } from '../helpers/sqlite.js';

interface CreateDoc {
  snapshot: { dir: string; databases: string[]; copiedFiles: number };
}
interface VerifyDoc {
  ok: boolean;
  bundles: Array<{ problems: Array<{ path: string; problem: string }> }>;
}

let base: string;
let home: string;
let sample: GeneratedHome;
let probe: string;

beforeEach(async () => {
  base = tempDir();
  home = path.join(base, 'home');
  sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') });
  expect((await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', sample.root])).exitCode).toBe(0);
  // At exit the probe names the CommonJS modules the process loaded (better-sqlite3 is one). A
  // bundle this small is hashed on the calling thread, so a quick_check would load it there.
  probe = path.join(base, 'modules-probe.mjs');
  fs.writeFileSync(probe, "import { createRequire } from 'node:module';\nconst loaded = createRequire(import.meta.url).cache;\nprocess.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify(Object.keys(loaded)) + '\\n'));\n");
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/** `oc snapshot verify latest --json` through the built binary: exit code, document, and whether SQLite was loaded. */
async function verifyLatest(): Promise<{ exitCode: number | undefined; doc: VerifyDoc; sqlite: boolean }> {
  const result = await execa('node', [path.join(REPO, 'bin', 'clawback.js'), 'oc', 'snapshot', 'verify', 'latest', '--json'], {
    reject: false,
    env: { ...process.env, CLAWBACK_HOME: home, NO_COLOR: '1', NODE_OPTIONS: `--import ${probe}` },
  });
  const modules = JSON.parse(/^MODULES (.*)$/m.exec(String(result.stderr))![1]!) as string[];
  return { exitCode: result.exitCode, doc: JSON.parse(String(result.stdout)) as VerifyDoc, sqlite: modules.some((m) => m.includes(`${path.sep}better-sqlite3${path.sep}`)) };
}

function header(dir: string): { quickCheckedDatabases: Array<{ path: string; sha256: string }> } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'rebuild-manifest.json'), 'utf8')) as ReturnType<typeof header>;
}


describe('verify and the database copies clawback quick_checked when it wrote them', () => {
  it('records each copy with its sha256, carries the record over a hard link, and does not open a copy that still matches', async () => {
    const first = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    expect(first.snapshot.databases.length).toBeGreaterThan(0);
    const recorded = header(first.snapshot.dir).quickCheckedDatabases;
    expect(recorded.map((c) => c.path)).toEqual([...first.snapshot.databases].sort());
    for (const copy of recorded) expect(copy.sha256).toBe(sha256File(path.join(first.snapshot.dir, 'payload', copy.path)));
    const fresh = await verifyLatest();
    expect([fresh.exitCode, fresh.doc.ok, fresh.sqlite]).toEqual([0, true, false]);

    // An unchanged re-snapshot links every copy: the record comes with them.
    const second = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    expect(second.snapshot.copiedFiles).toBe(0);
    expect(header(second.snapshot.dir).quickCheckedDatabases).toEqual(recorded);
    const linked = await verifyLatest();
    expect([linked.exitCode, linked.doc.ok, linked.sqlite]).toEqual([0, true, false]);
  });

  it('a copy whose bytes changed is damage (exit 6), named with what SQLite makes of it', async () => {
    const created = json<CreateDoc>(await clawback(home, ['oc', 'snapshot', 'create', '--json']));
    const [broken, grown] = [...created.snapshot.databases].sort();
    expect(grown).toBeDefined();
    damageRootPage(path.join(created.snapshot.dir, 'payload', broken!));
    // Bytes past the end of the database: another file, which SQLite still reads.
    fs.appendFileSync(path.join(created.snapshot.dir, 'payload', grown!), Buffer.alloc(10, 1));
    const damaged = await verifyLatest();
    expect(damaged.exitCode).toBe(6);
    expect(damaged.sqlite).toBe(true);
    expect(damaged.doc.bundles[0]!.problems).toEqual([
      { path: broken, problem: expect.stringMatching(/^content differs: sha256 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…; (quick_check says (?!ok)|not a readable SQLite database)/) },
      { path: grown, problem: expect.stringMatching(/^size is \d+ bytes, the manifest says \d+; quick_check says ok \(SQLite can still read it\)$/) },
    ]);
  });
});
