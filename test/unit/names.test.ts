import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { completeManifest, type ManifestDraft } from '../../src/engine/bundle/complete-manifest.js';
import { publishManifest } from '../../src/engine/bundle/publish.js';
import { decodeName, displayName, encodeName, fsPath, nameEncodingProblem } from '../../src/fs-safety/fs-path.js';
import { foreignPathProblem, relativePathProblem } from '../../src/fs-safety/safe-path.js';
import { serializeBundleManifest } from '../../src/manifest/bundle-manifest.js';
import { readBundleManifest } from '../../src/store/bundles.js';
import { tempDir } from '../helpers/cli.js';
import { testDeps } from '../helpers/deps.js';

describe('names as bytes', () => {
  it('decodes any byte string losslessly and encodes it back', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    const samples = [Buffer.from([0xff, 0xfe, 0x2e]), Buffer.from('café ✓ 𝄞', 'utf8'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc3]), Buffer.from([0xf4, 0x90, 0x80, 0x80])];
    for (let i = 0; i < 2000; i++) samples.push(Buffer.from(Array.from({ length: 1 + (i % 12) }, () => next() || 1)));
    for (const bytes of samples) {
      const name = decodeName(bytes);
      expect(encodeName(name).equals(bytes)).toBe(true);
      expect(nameEncodingProblem(name)).toBeUndefined();
      expect(JSON.parse(JSON.stringify(name))).toBe(name);
    }
  });

  it('keeps valid UTF-8 as itself and escapes only the bytes that are not', () => {
    expect(decodeName(Buffer.from('naïve.md', 'utf8'))).toBe('naïve.md');
    expect(decodeName(Buffer.from([0xff, 0xfe, 0x2e, 0x6d, 0x64]))).toBe('\udcff\udcfe.md');
    expect(fsPath('plain.md')).toBe('plain.md');
    expect(fsPath('\udcff.md')).toEqual(Buffer.from([0xff, 0x2e, 0x6d, 0x64]));
    expect(displayName('w/\udcff\udcfe.md')).toBe('w/\\xff\\xfe.md');
  });

  it('refuses a surrogate that stands for no byte, or bytes that are really UTF-8', () => {
    expect(nameEncodingProblem('\ud800x')).toBeDefined();
    expect(nameEncodingProblem('\udc41')).toBeDefined();
    expect(nameEncodingProblem('\udcc3\udca9')).toBeDefined();
    expect(relativePathProblem('a/\udcc3\udca9')).toBeDefined();
  });

  it('accepts every POSIX name in bundles; archives from other systems keep their refusals', () => {
    for (const ok of ['a\\b.md', 'c:notes.md', 'glob*?[.md', 'line\nbreak', 'w/\udcff']) expect(relativePathProblem(ok)).toBeUndefined();
    for (const bad of ['', 'a\0b', '/abs', 'a/../b', 'a/./b', 'a//b']) expect(relativePathProblem(bad)).toBeDefined();
    expect(foreignPathProblem('a\\b.md')).toBe('contains a backslash');
    expect(foreignPathProblem('c:notes.md')).toBe('has a drive letter');
  });
});

describe('publishBundle', () => {
  const draft = (paths: string[]): ManifestDraft => ({
    tool: { name: 'clawback', version: '0.0.0' },
    sandboxName: 's',
    timestamp: '2026-01-01T00-00-00-000Z',
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
    scope: { full: true, modules: ['workspaces'], agents: null, includesSecrets: false, excludes: [] },
    mounts: [{ prefix: '', dir: '/x' }],
    entries: paths.map((p) => ({ path: p, type: 'dir', module: 'workspaces', mode: 0o755 })),
    skipped: [],
  });

  it('publishes a manifest of odd names that its reader reads back unchanged', () => {
    const dir = tempDir('clawback-publish-');
    const partial = path.join(dir, 'home', 's', '2026-01-01T00-00-00-000Z.partial');
    fs.mkdirSync(partial, { recursive: true });
    const names = ['a\\b', 'c:x', 'w\udcff'];
    const published = publishManifest(partial, completeManifest(draft(names)), testDeps(path.join(dir, 'home')), 'create');
    const text = zlib.gunzipSync(fs.readFileSync(path.join(published, 'rebuild-inventory.jsonl.gz'))).toString('utf8');
    expect(text).toContain('"w\\udcff"');
    expect(readBundleManifest(published).entries.map((e) => e.path)).toEqual(names);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to publish a manifest its own reader would refuse, and leaves the .partial unpublished', () => {
    const dir = tempDir('clawback-publish-');
    const partial = path.join(dir, 'home', 's', '2026-01-01T00-00-00-000Z.partial');
    fs.mkdirSync(partial, { recursive: true });
    const manifest = completeManifest(draft(['ok', 'ok']));
    expect(() => serializeBundleManifest(manifest)).not.toThrow();
    expect(() => publishManifest(partial, manifest, testDeps(path.join(dir, 'home')), 'create')).toThrow(/not published/);
    expect(fs.readdirSync(path.dirname(partial))).toEqual([path.basename(partial)]);
    expect(fs.existsSync(path.join(partial, 'rebuild-manifest.json'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
