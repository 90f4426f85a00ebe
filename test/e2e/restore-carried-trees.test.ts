import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClawFixture, restoreLeftovers, type RestoreFixture } from '../helpers/restore.js';
import { treeDigest } from '../helpers/tree.js';

/**
 * A live directory the restore carries over whole (an excluded `node_modules`) is planned as one
 * item and rebuilt by hard links on the staging workers (carry-pool.ts: 2,000 entries or more):
 * every entry comes back as it was (the same inode, mode, mtime, symlink target, a read-only
 * directory, a name that is not UTF-8), and the counts and first kept paths are what the dry run,
 * which lists every path, says.
 */
const MODULES = 'extensions/demo/node_modules';
/** A second carried tree, so that both the calling thread and a worker rebuild one (carry-pool.ts splits the entries). */
const OTHER = 'extensions/other/node_modules';
const PACKAGES = 34;
const FILES = 30;
/** A name that is not UTF-8 (byte 0xff). */
const ODD_NAME = Buffer.concat([Buffer.from('odd-'), Buffer.from([0xff]), Buffer.from('.js')]);

interface RestoreJson {
  restore: { counts: Record<string, number>; keptReasons: Record<string, number>; paths: { kept: string[] } };
}

let f: RestoreFixture;
let modules: string;
let before: Record<string, string>;
let inodes: Map<string, number>;
let dryRun: RestoreJson;

const oddFile = (): Buffer => Buffer.concat([Buffer.from(`${modules}/odd/`), ODD_NAME]);
/**
 * The packages' files (bytes, modes, mtimes), link targets and directory modes; a carried directory
 * is made anew, so its mtime is not compared (treeDigest reads names as UTF-8: the odd one is checked apart).
 */
const packages = (): Record<string, string> =>
  Object.fromEntries(
    [MODULES, OTHER].flatMap((tree) =>
      fs
        .readdirSync(path.join(f.root, tree))
        .filter((n) => n.startsWith('pkg-'))
        .flatMap((n) => Object.entries(treeDigest(path.join(f.root, tree, n), { times: true })).map(([rel, d]) => [`${tree}/${n}/${rel}`, d.startsWith('dir ') ? d.replace(/ mtime .*/, '') : d])),
    ),
  );

beforeAll(async () => {
  f = await openClawFixture('clawback-restore-trees-');
  modules = path.join(f.root, MODULES);
  for (let p = 0; p < 2 * PACKAGES; p++) {
    const lib = path.join(f.root, p < PACKAGES ? MODULES : OTHER, `pkg-${String(p).padStart(2, '0')}`, 'lib');
    fs.mkdirSync(lib, { recursive: true });
    for (let i = 0; i < FILES; i++) {
      const file = path.join(lib, `f${i}.js`);
      fs.writeFileSync(file, `module.exports = ${p * FILES + i};\n`, { mode: i % 5 === 0 ? 0o600 : 0o644 });
      fs.utimesSync(file, 1_700_000_000 + i, 1_700_000_000 + i);
    }
    fs.symlinkSync('lib/f0.js', path.join(lib, '..', 'index.js'));
  }
  fs.mkdirSync(path.join(modules, 'odd'));
  fs.writeFileSync(oddFile(), 'odd\n');
  fs.chmodSync(path.join(modules, 'pkg-07', 'lib'), 0o555);
  const created = await f.cli('oc', 'snapshot', 'create');
  expect(created.exitCode, String(created.stderr)).toBe(0);
  fs.writeFileSync(path.join(f.root, 'workspace/SOUL.md'), 'changed after the snapshot\n');
  before = packages();
  inodes = new Map([`${MODULES}/pkg-00/lib/f1.js`, `${OTHER}/pkg-67/lib/f29.js`, `${MODULES}/pkg-07/lib/f3.js`].map((rel) => [rel, fs.statSync(path.join(f.root, rel)).ino]));
  inodes.set('odd', fs.statSync(oddFile()).ino);
  const dry = await f.cli('oc', 'snapshot', 'restore', 'latest', '--dry-run', '--json');
  expect(dry.exitCode, String(dry.stderr)).toBe(0);
  dryRun = JSON.parse(String(dry.stdout)) as RestoreJson;
});

afterAll(() => {
  if (modules) fs.chmodSync(path.join(modules, 'pkg-07', 'lib'), 0o755);
  f?.cleanup();
});

describe('restore carries a whole live directory over', () => {
  it('links every entry back as it was, counts it as the dry run does, and leaves nothing behind', async () => {
    const result = await f.cli('oc', 'snapshot', 'restore', 'latest', '--yes', '--no-pre-restore', '--json');
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const restored = JSON.parse(String(result.stdout)) as RestoreJson;

    expect(fs.readFileSync(path.join(f.root, 'workspace/SOUL.md'), 'utf8')).not.toBe('changed after the snapshot\n');
    expect(packages()).toEqual(before);
    for (const [rel, ino] of inodes) expect(fs.statSync(rel === 'odd' ? oddFile() : path.join(f.root, rel)).ino, rel).toBe(ino);
    expect(fs.readFileSync(oddFile(), 'utf8')).toBe('odd\n');
    expect(fs.statSync(path.join(modules, 'pkg-07', 'lib')).mode & 0o777).toBe(0o555);
    expect(restoreLeftovers(f.root)).toEqual([]);

    // Files and symlinks below both node_modules, and the odd name: the dry run lists each of them.
    const carried = 2 * PACKAGES * (FILES + 1) + 1;
    expect(dryRun.restore.paths.kept.filter((p) => p.startsWith(`${MODULES}/`) || p.startsWith(`${OTHER}/`))).toHaveLength(carried);
    expect(restored.restore.counts.kept).toBe(dryRun.restore.counts.kept);
    expect(restored.restore.keptReasons).toEqual(dryRun.restore.keptReasons);
    expect(restored.restore.paths.kept).toEqual(dryRun.restore.paths.kept.slice(0, 20));
  });
});
