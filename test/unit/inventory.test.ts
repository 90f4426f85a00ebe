import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { completeManifest, type ManifestDraft } from '../../src/engine/bundle/complete-manifest.js';
import { publishManifest } from '../../src/engine/bundle/publish.js';
import { contentSha256, parseBundleHeader, type BundleEntry, type SkippedEntry } from '../../src/manifest/bundle-manifest.js';
import { INVENTORY_FILE } from '../../src/manifest/inventory.js';
import { listBundles, openInventory, readBundleManifest } from '../../src/store/bundles.js';
import { collectInventory, sidecarInventory } from '../../src/store/inventory-reader.js';
import { InventoryWriter, writeInventory } from '../../src/store/inventory-writer.js';
import { rewriteInventory } from '../helpers/bundles.js';
import { tempDir } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';

const SHA = (c: string): string => c.repeat(64);

/** One entry of every kind, with every optional field an entry can carry. */
const ENTRIES: BundleEntry[] = [
  { path: 'agents', type: 'dir', mode: 0o755, module: 'agents', agent: 'main' },
  {
    path: 'agents/main.sqlite',
    type: 'file',
    mode: 0o600,
    size: 8192,
    mtimeMs: 1767225600123.5,
    sha256: SHA('a'),
    strategy: 'sqlite_backup',
    journalMode: 'wal',
    walSize: 4096,
    walMtimeMs: 1767225600999,
    sourceSize: 12288,
    module: 'agents',
    agent: 'main',
    dev: 2049,
    ino: 123456789,
  },
  { path: 'media/big.bin', type: 'file', mode: 0o644, size: 1 << 20, mtimeMs: 0, sha256: SHA('b'), strategy: 'copy', sparse: true, module: 'media', dev: 1, ino: 2 },
  { path: 'workspace', type: 'dir', mode: 0o700, module: 'workspaces' },
  { path: 'workspace/link', type: 'symlink', target: '../media/big.bin', module: 'workspaces' },
  { path: 'w\udcff name', type: 'file', mode: 0o640, size: 0, sha256: SHA('c'), module: 'other' },
];
const SKIPPED: SkippedEntry[] = [
  { path: 'browser/Cache', reason: 'excluded' },
  { path: 'x.sqlite-wal', reason: 'sqlite companion (captured through the backup API)' },
];

function draft(entries: BundleEntry[], skipped: SkippedEntry[]): ManifestDraft {
  return {
    tool: { name: 'clawback', version: '0.1.0' },
    sandboxName: 's',
    timestamp: '2026-01-01T00-00-00-000Z',
    name: 'before-upgrade',
    agentType: 'openclaw',
    agentVersion: '2026.1.2',
    capture: 'selective',
    stateDirs: ['agents', 'workspace*'],
    backedUpDirs: ['agents', 'workspace'],
    failedBackupDirs: ['logs'],
    degraded: [{ path: 'media/broken.sqlite', reason: 'SQLite cannot read it; captured as raw bytes' }],
    stateFiles: [{ path: 'agents/main.sqlite', strategy: 'sqlite_backup' }],
    modulesExpected: ['agents', 'media', 'other', 'workspaces', 'secrets'],
    databases: { expected: ['agents/main.sqlite', 'db2.sqlite'], captured: ['agents/main.sqlite'], missing: [{ path: 'db2.sqlite', reason: 'locked' }] },
    includesSecrets: false,
    policyPresets: ['npm'],
    customPolicies: [{ name: 'corp', content: 'allow: x\n' }],
    backupComplete: true,
    scope: { full: false, modules: ['agents', 'media'], agents: ['main'], includesSecrets: false, excludes: ['*.log'], paths: ['agents'] },
    mounts: [{ prefix: '', dir: '/root/.openclaw' }, { prefix: 'secrets', dir: '/etc/oc', module: 'secrets', agent: 'main' }],
    origin: { clawbackId: 'x@y', importedFrom: 'a.tar.gz' },
    entries,
    skipped,
  };
}

let dirs: string[] = [];
function scratch(): string {
  const dir = tempDir('clawback-inventory-unit-');
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('the inventory sidecar', () => {
  it('round-trips every field of a published manifest: header fields in the header, entries and skipped paths in the sidecar', () => {
    const home = scratch();
    const partial = path.join(home, 's', '2026-01-01T00-00-00-000Z.partial');
    fs.mkdirSync(partial, { recursive: true });
    const manifest = completeManifest(draft(ENTRIES, SKIPPED));
    const dir = publishManifest(partial, manifest, testDeps(home), 'create');

    const read = readBundleManifest(dir);
    const { inventory, ...rest } = read;
    expect(rest).toEqual(manifest);
    expect(inventory).toMatchObject({ file: INVENTORY_FILE, entries: ENTRIES.length, skipped: SKIPPED.length });
    // The same checksum as when the entries were inline, so bundles written before still verify.
    expect(read.contentSha256).toBe(contentSha256(ENTRIES));

    // The header alone (what `snapshot list` reads) holds every header field, and no entry.
    const headerText = fs.readFileSync(path.join(dir, 'rebuild-manifest.json'), 'utf8');
    expect(headerText).not.toMatch(/"entries": \[/);
    const { entries: _e, skipped: _s, contentSha256: sum, ...headerFields } = manifest;
    expect(parseBundleHeader(headerText, 'h')).toEqual({ ...headerFields, inventory, contentSha256: sum });
    expect(listBundles(path.dirname(dir))[0]!.header).toEqual({ ...headerFields, inventory, contentSha256: sum });
  });

  it('streams many entries in several gzip members that any gunzip reads as one stream', () => {
    const dir = scratch();
    const entries: BundleEntry[] = Array.from({ length: 5000 }, (_, i) => ({ path: `f/${String(i).padStart(6, '0')}`, type: 'file', mode: 0o644, size: i, sha256: SHA('d'), module: 'other' }));
    const writer = new InventoryWriter(dir);
    writer.add({ path: 'f', type: 'dir', mode: 0o755, module: 'other' });
    for (const entry of entries) writer.add(entry);
    writer.addSkipped({ path: 'g', reason: 'excluded' });
    const summary = writer.finish();
    writer.close();
    const bytes = fs.readFileSync(path.join(dir, INVENTORY_FILE));
    expect(bytes.subarray(20).indexOf(Buffer.from([0x1f, 0x8b, 8, 4]))).toBeGreaterThan(0);
    expect(zlib.gunzipSync(bytes).toString('utf8').trim().split('\n')).toHaveLength(5002);
    expect(summary.totals).toEqual({ files: 5000, bytes: (4999 * 5000) / 2 });
    const read = collectInventory(sidecarInventory(dir, summary.ref, summary.contentSha256));
    expect(read.entries.slice(1)).toEqual(entries);
    expect(read.skipped).toEqual([{ path: 'g', reason: 'excluded' }]);
  });

  it('refuses to write entries out of order or twice, so no bundle a reader would refuse is published', () => {
    const writer = new InventoryWriter(scratch());
    writer.add({ path: 'b', type: 'dir', module: 'other' });
    expect(() => writer.add({ path: 'a', type: 'dir', module: 'other' })).toThrow(/out of order.*not published/);
    expect(() => writer.add({ path: 'b', type: 'dir', module: 'other' })).toThrow(/out of order/);
    expect(() => writer.add({ path: 'b/../c', type: 'dir', module: 'other' })).toThrow(/not published/);
    writer.close();
  });

  it('refuses a truncated, reordered, shortened or altered sidecar with an integrity error (exit 6)', () => {
    const make = (): { dir: string; header: ReturnType<typeof parseBundleHeader> } => {
      const home = scratch();
      const partial = path.join(home, 's', '2026-01-01T00-00-00-000Z.partial');
      fs.mkdirSync(partial, { recursive: true });
      const dir = publishManifest(partial, completeManifest(draft(ENTRIES, SKIPPED)), testDeps(home), 'create');
      return { dir, header: parseBundleHeader(fs.readFileSync(path.join(dir, 'rebuild-manifest.json'), 'utf8'), 'h') };
    };
    const readAll = (dir: string): unknown => collectInventory(openInventory(dir));
    const damaged = (code: string, message: RegExp): object => expect.objectContaining({ code, exitCode: 6, message: expect.stringMatching(message) });

    const truncated = make();
    const file = path.join(truncated.dir, INVENTORY_FILE);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 40));
    expect(() => readAll(truncated.dir)).toThrow(damaged('inventory-damaged', /truncated/));

    const reordered = make();
    rewriteInventory(reordered.dir, (text) => {
      const lines = text.trim().split('\n');
      [lines[1], lines[2]] = [lines[2]!, lines[1]!];
      return lines.join('\n') + '\n';
    });
    expect(() => readAll(reordered.dir)).toThrow(damaged('inventory-damaged', /out of order/));

    const shortened = make();
    rewriteInventory(shortened.dir, (text) => text.split('\n').slice(1).join('\n'), { entries: ENTRIES.length - 1 });
    expect(() => readAll(shortened.dir)).toThrow(damaged('manifest-checksum', /contentSha256/));

    const miscounted = make();
    rewriteInventory(miscounted.dir, (text) => text, { entries: ENTRIES.length - 1 });
    expect(() => readAll(miscounted.dir)).toThrow(damaged('inventory-damaged', /holds more lines than the 7/));

    const altered = make();
    rewriteInventory(altered.dir, (text) => text.replace('"size":8192', '"size":8193'), { fixSha: false });
    expect(() => readAll(altered.dir)).toThrow(damaged('inventory-damaged', /sha256/));
  });

  it('writes an in-memory copy byte for byte the same as the file (what an export carries)', () => {
    const dir = scratch();
    const onDisk = writeInventory(dir, ENTRIES, SKIPPED);
    const inMemory = writeInventory(undefined, ENTRIES, SKIPPED);
    expect(inMemory.bytes.equals(fs.readFileSync(path.join(dir, INVENTORY_FILE)))).toBe(true);
    expect(inMemory.ref).toEqual(onDisk.ref);
  });
});
