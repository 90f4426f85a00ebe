import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FileReader, READ_CHUNK } from '../../src/fs-safety/file-reader.js';
import { completeManifest, type ManifestDraft } from '../../src/engine/bundle/complete-manifest.js';
import { capturedIdentity, stillAsCaptured } from '../../src/engine/bundle/source-identity.js';
import { freeTimestamp } from '../../src/engine/bundle/timestamp.js';
import { bundleFileMode } from '../../src/engine/bundle/file-mode.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION, contentSha256, serializeBundleManifest, type BundleEntry } from '../../src/manifest/bundle-manifest.js';
import { bundleTimestamp } from '../../src/store/home.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-kernel-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const sha = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

function withFile<T>(bytes: Uint8Array, use: (fd: number) => T): T {
  const file = path.join(dir, `f-${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

describe('FileReader', () => {
  it('hashes files of every size to the same sha256 as crypto, in either reading mode', () => {
    const reader = new FileReader();
    for (const size of [0, 1, 4096, READ_CHUNK - 1, READ_CHUNK, READ_CHUNK + 1, 3 * READ_CHUNK + 17]) {
      const bytes = crypto.randomBytes(size);
      expect(withFile(bytes, (fd) => reader.hash(fd))).toEqual({ sha256: sha(bytes), size });
      expect(withFile(bytes, (fd) => reader.hash(fd, { trustShortRead: true }))).toEqual({ sha256: sha(bytes), size });
    }
  });

  it('shows every chunk in order, and stops when told to', () => {
    const bytes = crypto.randomBytes(2 * READ_CHUNK + 5);
    const seen: Array<[number, number]> = [];
    withFile(bytes, (fd) => new FileReader().hash(fd, { each: (chunk, offset) => void seen.push([offset, chunk.length]) }));
    expect(seen).toEqual([
      [0, READ_CHUNK],
      [READ_CHUNK, READ_CHUNK],
      [2 * READ_CHUNK, 5],
    ]);
    expect(withFile(bytes, (fd) => new FileReader().hash(fd, { each: () => false }))).toBeUndefined();
  });

  it('reads a file whole only when it holds exactly the expected bytes', () => {
    const reader = new FileReader();
    const bytes = crypto.randomBytes(1000);
    expect(withFile(bytes, (fd) => reader.readExactly(fd, 1000)?.equals(bytes))).toBe(true);
    expect(withFile(bytes, (fd) => reader.readExactly(fd, 999))).toBeUndefined();
    expect(withFile(bytes, (fd) => reader.readExactly(fd, 1001))).toBeUndefined();
  });
});

describe('completeManifest', () => {
  const entries: BundleEntry[] = [
    { path: 'b', type: 'dir', module: 'workspaces', mode: 0o755 },
    { path: 'b/x.txt', type: 'file', module: 'workspaces', size: 3, sha256: 'a'.repeat(64), mode: 0o644 },
    { path: 'a.json', type: 'file', module: 'config', size: 10, sha256: 'b'.repeat(64), mode: 0o600 },
    { path: 'l', type: 'symlink', module: 'config', target: 'a.json' },
  ];
  const draft: ManifestDraft = {
    tool: { name: 'clawback', version: '0.0.0' },
    sandboxName: 's',
    timestamp: '2026-01-01T00-00-00.000Z',
    name: null,
    agentType: 'openclaw',
    agentVersion: null,
    capture: 'whole',
    stateDirs: [],
    backedUpDirs: [],
    failedBackupDirs: [],
    stateFiles: [],
    includesSecrets: false,
    policyPresets: [],
    customPolicies: [],
    backupComplete: true,
    scope: { full: true, modules: ['config', 'workspaces'], agents: null, includesSecrets: true, excludes: [] },
    mounts: [{ prefix: '', dir: '/x' }],
    entries,
    skipped: [],
  };

  it('derives format, modules, totals and contentSha256 from the entries', () => {
    const manifest = completeManifest(draft);
    expect(manifest.version).toBe(BUNDLE_VERSION);
    expect(manifest.format).toBe(BUNDLE_FORMAT);
    expect(manifest.modules).toEqual(['config', 'workspaces']);
    expect(manifest.totals).toEqual({ files: 2, bytes: 13 });
    expect(manifest.contentSha256).toBe(contentSha256(entries));
    expect(manifest.origin).toBeUndefined();
  });

  it('lays the header out in the schema order whatever order the draft was built in', () => {
    const reversed = Object.fromEntries(Object.entries({ ...draft, origin: { importedFrom: 'x.tgz' } }).reverse()) as unknown as ManifestDraft;
    const text = serializeBundleManifest(completeManifest(reversed));
    const keys = [...text.matchAll(/^ "([A-Za-z0-9]+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual([
      'version', 'format', 'tool', 'sandboxName', 'timestamp', 'name', 'agentType', 'agentVersion', 'capture', 'stateDirs', 'backedUpDirs',
      'failedBackupDirs', 'stateFiles', 'modules', 'includesSecrets', 'policyPresets', 'customPolicies', 'backupComplete', 'scope', 'mounts',
      'origin', 'totals', 'entries', 'skipped', 'contentSha256',
    ]);
  });
});

describe('stillAsCaptured', () => {
  it('holds for a file whose lstat identity is unchanged, and fails on any change', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'abc');
    const stat = fs.lstatSync(file);
    const entry: BundleEntry = { path: 'f', type: 'file', module: 'm', size: 3, sha256: sha(Buffer.from('abc')), mode: stat.mode & 0o7777, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino };
    expect(stillAsCaptured(entry, stat, file)).toBe(true);
    expect(stillAsCaptured({ ...entry, mtimeMs: stat.mtimeMs + 1 }, stat, file)).toBe(false);
    expect(stillAsCaptured({ ...entry, mode: entry.mode! ^ 0o100 }, stat, file)).toBe(false);
    // An imported entry carries no source identity: it never stands for a live file.
    const { dev: _dev, ino: _ino, ...imported } = entry;
    expect(capturedIdentity(imported)).toBeUndefined();
    expect(stillAsCaptured(imported, stat, file)).toBe(false);
  });

  it('holds for a database only while its -wal is as captured', () => {
    const file = path.join(dir, 'db.sqlite');
    fs.writeFileSync(file, 'x'.repeat(100));
    const stat = fs.lstatSync(file);
    const entry: BundleEntry = {
      path: 'db.sqlite', type: 'file', module: 'm', size: 4096, sourceSize: 100, sha256: 'c'.repeat(64), strategy: 'sqlite_backup',
      mode: stat.mode & 0o7777, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino, walSize: -1, walMtimeMs: -1,
    };
    expect(stillAsCaptured(entry, stat, file)).toBe(true);
    fs.writeFileSync(file + '-wal', 'w');
    expect(stillAsCaptured(entry, stat, file)).toBe(false);
    const { walSize: _s, walMtimeMs: _m, ...noWal } = entry;
    expect(capturedIdentity(noWal)).toBeUndefined();
  });
});

describe('freeTimestamp', () => {
  it('skips a stamp used by a bundle, a partial one, one being deleted, or an import scratch dir', () => {
    const t = new Date('2026-03-01T10:00:00.000Z');
    const at = (ms: number): string => bundleTimestamp(new Date(t.getTime() + ms));
    fs.mkdirSync(path.join(dir, at(0)));
    fs.mkdirSync(path.join(dir, `${at(1)}.partial`));
    fs.mkdirSync(path.join(dir, `.deleting-${at(2)}`));
    fs.mkdirSync(path.join(dir, `.import-${at(3)}`));
    expect(freeTimestamp(dir, t)).toBe(at(4));
    expect(freeTimestamp(dir, new Date(t.getTime() + 10))).toBe(at(10));
  });
});

describe('bundleFileMode', () => {
  it('drops group/other write and the special bits', () => {
    expect(bundleFileMode(0o4777)).toBe(0o755);
    expect(bundleFileMode(0o664)).toBe(0o644);
    expect(bundleFileMode(0o600)).toBe(0o600);
  });
});
