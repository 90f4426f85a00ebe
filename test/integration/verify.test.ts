import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../src/engine/deps.js';
import { verifySnapshots, type VerifyRequest, type VerifySummary } from '../../src/engine/verify/verify.js';
import { contentSha256, serializeBundleManifest } from '../../src/manifest/bundle-manifest.js';
import { readBundleManifest } from '../../src/store/bundles.js';
import { REPO } from '../helpers/cli.js';
import { payloadPath, rewriteInventory, sandboxDir, sha256File } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { damageRootPage } from '../helpers/sqlite.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

const SB = 'oc';
let fx: LifecycleFixture;
let deps: EngineDeps;

function problemsOf(summary: VerifySummary, index = 0): Array<[string, string]> {
  return summary.bundles[index]!.problems.map((p) => [p.path, p.problem]);
}

function manifestPath(id: string): string {
  return path.join(sandboxDir(fx.home, SB), id, 'rebuild-manifest.json');
}

/** Rewrite a manifest the way a careful attacker would: entries edited, checksum recomputed. */
function rewriteManifest(id: string, edit: (manifest: ReturnType<typeof readBundleManifest>) => void, recompute = true): void {
  const file = manifestPath(id);
  // Written back with its entries inline (the form bundles had before the sidecar, still read).
  const manifest = readBundleManifest(path.dirname(file));
  edit(manifest);
  if (recompute) manifest.contentSha256 = contentSha256(manifest.entries);
  fs.writeFileSync(file, serializeBundleManifest(manifest));
}

beforeEach(() => {
  fx = lifecycleFixture();
  deps = testDeps(fx.home);
  registerOpenClaw(deps, SB, fx.root);
});

afterEach(() => fx.cleanup());

describe('verifySnapshots', () => {
  it('names every kind of damage: missing, extra, mistyped, truncated, retargeted', async () => {
    const id = await snapshot(deps, SB);
    const p = (rel: string): string => payloadPath(fx.home, SB, id, rel);
    fs.rmSync(p('cron/jobs.json'));
    fs.writeFileSync(p('workspace/stray.txt'), 'not in the manifest');
    fs.mkdirSync(p('workspace/stray-dir/deeper'), { recursive: true });
    fs.writeFileSync(p('workspace/stray-dir/deeper/x'), 'x');
    fs.truncateSync(p('workspace/SOUL.md'), 5);
    fs.rmSync(p('workspace/USER.md'));
    fs.mkdirSync(p('workspace/USER.md'));
    fs.rmSync(p('workspace/current-notes'));
    fs.symlinkSync('elsewhere', p('workspace/current-notes'));
    fs.rmSync(p('workspace-ops'), { recursive: true });

    const summary = await verifySnapshots({ sandbox: SB }, deps);
    expect(summary.ok).toBe(false);
    expect(problemsOf(summary)).toEqual([
      ['cron/jobs.json', 'missing (a file in the manifest)'],
      ['workspace-ops', 'missing (a directory in the manifest)'],
      ['workspace/SOUL.md', expect.stringMatching(/^size is 5 bytes, the manifest says \d+$/)],
      ['workspace/USER.md', 'is a directory, the manifest says a file'],
      ['workspace/current-notes', expect.stringMatching(/^points to "elsewhere", the manifest says "/)],
      ['workspace/stray-dir', 'a directory that the manifest does not list'],
      ['workspace/stray.txt', 'a file that the manifest does not list'],
    ]);
  });

  it('runs quick_check on the database copy, and catches an edited inventory by its contentSha256', async () => {
    const id = await snapshot(deps, SB);
    const db = payloadPath(fx.home, SB, id, 'memory/main.sqlite');
    // Damage the root page of a table, then make the manifest agree with the damaged bytes, so only quick_check can tell.
    damageRootPage(db);
    rewriteManifest(id, (m) => {
      const entry = m.entries.find((e) => e.path === 'memory/main.sqlite')!;
      entry.sha256 = sha256File(db);
    });
    const damagedDb = await verifySnapshots({ sandbox: SB }, deps);
    expect(problemsOf(damagedDb)).toEqual([['memory/main.sqlite', expect.stringMatching(/quick_check|malformed|not a readable SQLite database/)]]);
    expect(fs.readdirSync(path.dirname(db)).sort()).toEqual(['main.sqlite']);

    rewriteManifest(
      id,
      (m) => {
        m.entries.find((e) => e.path === 'workspace/SOUL.md')!.mode = 0o777;
      },
      false,
    );
    const edited = await verifySnapshots({ sandbox: SB }, deps);
    expect(problemsOf(edited).map(([rel]) => rel)).toEqual(['memory/main.sqlite', 'rebuild-manifest.json']);
  });

  it('--all reports an unreadable inventory and a corrupt manifest per bundle instead of stopping', async () => {
    const first = await snapshot(deps, SB);
    const second = await snapshot(deps, SB);
    const third = await snapshot(deps, SB);
    // The header still parses (the bundle lists as complete); one inventory line does not.
    rewriteInventory(path.dirname(manifestPath(second)), (text) => text.replace(/"sha256":"[0-9a-f]{64}"/, '"sha256":"nope"'));
    fs.writeFileSync(manifestPath(third), '{ not json');
    const summary = await verifySnapshots({ sandbox: SB, all: true }, deps);
    expect(summary.bundles.map((b) => [b.id, b.ok, b.problems.map((p) => p.path)])).toEqual([
      [first, true, []],
      [second, false, ['rebuild-manifest.json']],
      [third, false, ['rebuild-manifest.json']],
    ]);
    expect(summary.bundles[1]!.problems[0]!.problem).toContain('no valid sha256');
  });

  it('refuses a selector together with --all', async () => {
    await expect(verifySnapshots({ sandbox: SB, selector: 'latest', all: true }, deps)).rejects.toMatchObject({ exitCode: 2 });
  });

  it('hashes on worker threads when built, finding the same damage', async () => {
    const built = path.join(REPO, 'dist', 'src', 'engine', 'verify', 'verify.js');
    expect(fs.existsSync(built), 'run `npm run build` first').toBe(true);
    const compiled = (await import(built)) as { verifySnapshots: (r: VerifyRequest, d: EngineDeps) => Promise<VerifySummary> };
    const id = await snapshot(deps, SB);
    const soul = payloadPath(fx.home, SB, id, 'workspace/SOUL.md');
    const bytes = fs.readFileSync(soul);
    bytes[3] = bytes[3]! ^ 1;
    fs.writeFileSync(soul, bytes);
    const inline = await compiled.verifySnapshots({ sandbox: SB, threads: 0 }, deps);
    const threaded = await compiled.verifySnapshots({ sandbox: SB, threads: 2, parallelFromBytes: 0 }, deps);
    expect(inline.threads).toBe(0);
    expect(threaded.threads).toBe(2);
    expect(problemsOf(threaded)).toEqual(problemsOf(inline));
    expect(problemsOf(threaded)).toEqual([['workspace/SOUL.md', expect.stringMatching(/^content differs/)]]);
    expect(threaded.files).toBe(inline.files);
  });

  it('on worker threads, files spread over many batches and the database copy: the same damage as on this thread', async () => {
    const built = path.join(REPO, 'dist', 'src', 'engine', 'verify', 'verify.js');
    expect(fs.existsSync(built), 'run `npm run build` first').toBe(true);
    const compiled = (await import(built)) as { verifySnapshots: (r: VerifyRequest, d: EngineDeps) => Promise<VerifySummary> };
    const many = path.join(fx.root, 'workspace', 'many');
    fs.mkdirSync(many);
    for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(many, `f-${i}.md`), `note ${i}\n`.repeat(i % 7 + 1));
    const id = await snapshot(deps, SB);
    const p = (rel: string): string => payloadPath(fx.home, SB, id, rel);
    // Same size (450 % 7 + 1 lines), other bytes.
    fs.writeFileSync(p('workspace/many/f-450.md'), 'NOTE 450\n'.repeat(3));
    fs.rmSync(p('workspace/many/f-10.md'));
    fs.writeFileSync(p('workspace/many/f-extra.md'), 'not in the manifest');
    const db = p('memory/main.sqlite');
    damageRootPage(db);
    rewriteManifest(id, (m) => {
      m.entries.find((e) => e.path === 'memory/main.sqlite')!.sha256 = sha256File(db);
    });
    const expected = [
      ['memory/main.sqlite', expect.stringMatching(/quick_check|malformed|not a readable SQLite database/)],
      ['workspace/many/f-10.md', 'missing (a file in the manifest)'],
      ['workspace/many/f-450.md', expect.stringMatching(/^content differs: sha256 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…$/)],
      ['workspace/many/f-extra.md', 'a file that the manifest does not list'],
    ];
    for (const threads of [0, 1, 2]) {
      const summary = await compiled.verifySnapshots({ sandbox: SB, threads, parallelFromBytes: 0 }, deps);
      expect(summary.threads).toBe(threads);
      expect(problemsOf(summary)).toEqual(expected);
      expect(summary.files).toBe(summary.bundles[0]!.files);
    }
  });

  it('quick_checks every database copy, the largest and the others, whichever thread checks them', async () => {
    const compiled = (await import(path.join(REPO, 'dist', 'src', 'engine', 'verify', 'verify.js'))) as { verifySnapshots: (r: VerifyRequest, d: EngineDeps) => Promise<VerifySummary> };
    const id = await snapshot(deps, SB);
    const damaged = ['memory/main.sqlite', 'agents/ops/agent/openclaw-agent.sqlite'];
    for (const rel of damaged) damageRootPage(payloadPath(fx.home, SB, id, rel));
    rewriteManifest(id, (m) => {
      for (const rel of damaged) m.entries.find((e) => e.path === rel)!.sha256 = sha256File(payloadPath(fx.home, SB, id, rel));
    });
    const expected = [...damaged].sort().map((rel) => [rel, expect.stringMatching(/quick_check|malformed|not a readable SQLite database/)]);
    for (const threads of [0, 1, 2]) {
      const summary = await compiled.verifySnapshots({ sandbox: SB, threads, parallelFromBytes: 0 }, deps);
      expect([threads, summary.threads, problemsOf(summary)]).toEqual([threads, threads, expected]);
    }
  });

  it('a database copy the header lists, replaced by a directory, is named as such on worker threads too', async () => {
    const built = path.join(REPO, 'dist', 'src', 'engine', 'verify', 'verify.js');
    const compiled = (await import(built)) as { verifySnapshots: (r: VerifyRequest, d: EngineDeps) => Promise<VerifySummary> };
    const id = await snapshot(deps, SB);
    const db = payloadPath(fx.home, SB, id, 'memory/main.sqlite');
    fs.rmSync(db);
    fs.mkdirSync(db);
    for (const threads of [0, 1]) {
      const summary = await compiled.verifySnapshots({ sandbox: SB, threads, parallelFromBytes: 0 }, deps);
      expect(problemsOf(summary)).toEqual([['memory/main.sqlite', 'is a directory, the manifest says a file']]);
    }
  });

  it('finds a change past the first read of a large file, and a cut at a read boundary, on this thread and on workers', async () => {
    const compiled = (await import(path.join(REPO, 'dist', 'src', 'engine', 'verify', 'verify.js'))) as { verifySnapshots: (r: VerifyRequest, d: EngineDeps) => Promise<VerifySummary> };
    // Files of several reads each (verify reads 64 KiB at a time).
    fs.writeFileSync(path.join(fx.root, 'workspace', 'big.bin'), Buffer.alloc(300_000, 7));
    fs.writeFileSync(path.join(fx.root, 'workspace', 'cut.bin'), Buffer.alloc(200_000, 9));
    const id = await snapshot(deps, SB);
    const big = payloadPath(fx.home, SB, id, 'workspace/big.bin');
    const bytes = fs.readFileSync(big);
    bytes[250_000] = 8;
    fs.writeFileSync(big, bytes);
    fs.truncateSync(payloadPath(fx.home, SB, id, 'workspace/cut.bin'), 2 * 65536);
    for (const threads of [0, 1]) {
      const summary = await compiled.verifySnapshots({ sandbox: SB, threads, parallelFromBytes: 0 }, deps);
      expect(problemsOf(summary)).toEqual([
        ['workspace/big.bin', expect.stringMatching(/^content differs/)],
        ['workspace/cut.bin', 'size is 131072 bytes, the manifest says 200000'],
      ]);
    }
  });

  it('adopts workers prestarted by the command, and lets them go when the bundle is too small for them', async () => {
    const dist = path.join(REPO, 'dist', 'src', 'engine', 'verify');
    const compiled = (await import(path.join(dist, 'verify.js'))) as { verifySnapshots: (r: VerifyRequest, d: EngineDeps) => Promise<VerifySummary> };
    const prestart = (await import(path.join(dist, 'prestart.js'))) as { prestartHashers(p: number): void; takeHashers(n: number): unknown[] | undefined };
    const id = await snapshot(deps, SB);
    fs.rmSync(payloadPath(fx.home, SB, id, 'cron/jobs.json'));
    const expected = [['cron/jobs.json', 'missing (a file in the manifest)']];
    const twoCores = { ...deps, host: { ...deps.host, parallelism: 2 } };
    // Adopted: one worker (two cores), hashing beside this thread.
    prestart.prestartHashers(2);
    const adopted = await compiled.verifySnapshots({ sandbox: SB, parallelFromBytes: 0 }, twoCores);
    expect([adopted.threads, problemsOf(adopted)]).toEqual([1, expected]);
    expect(prestart.takeHashers(1)).toBeUndefined();
    // A different count asked for: the prestarted ones are let go and others started.
    prestart.prestartHashers(2);
    const other = await compiled.verifySnapshots({ sandbox: SB, threads: 2, parallelFromBytes: 0 }, twoCores);
    expect([other.threads, problemsOf(other)]).toEqual([2, expected]);
    expect(prestart.takeHashers(1)).toBeUndefined();
    // Too small for workers (the default threshold): hashed here, the prestarted worker let go.
    prestart.prestartHashers(2);
    const small = await compiled.verifySnapshots({ sandbox: SB }, twoCores);
    expect([small.threads, problemsOf(small)]).toEqual([0, expected]);
    expect(prestart.takeHashers(1)).toBeUndefined();
  });
});

