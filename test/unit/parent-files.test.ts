import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parentFiles } from '../../src/engine/offsite/parent-files.js';
import type { BundleEntry, BundleHeader, SkippedEntry } from '../../src/manifest/bundle-manifest.js';
import { writeInventory } from '../../src/store/inventory-writer.js';
import { tempDir } from '../helpers/cli.js';

/**
 * What push compares a file restic takes unread from the parent's snapshot with: the parent's
 * inventory, read as text (a sidecar) or through the checked entries (an inline manifest).
 */
const SHA = (c: string): string => c.repeat(64);

const ENTRIES: BundleEntry[] = [
  { path: 'a"b,"c', type: 'file', mode: 0o644, size: 12, mtimeMs: 1.5, sha256: SHA('1'), module: 'm' },
  { path: 'agents', type: 'dir', mode: 0o755, module: 'agents' },
  { path: 'agents/db.sqlite', type: 'file', mode: 0o600, size: 8192, sha256: SHA('2'), strategy: 'sqlite_backup', module: 'agents', dev: 7, ino: 9 },
  { path: 'back\\slash', type: 'file', size: 0, sha256: SHA('3'), module: 'm' },
  { path: 'link', type: 'symlink', target: 'agents/db.sqlite', module: 'm' },
  // The key order of an entry parsed elsewhere (import): its path is not first.
  { type: 'file', module: 'm', size: 4096, sha256: SHA('4'), path: 'odd-order' } as BundleEntry,
  { path: 'w\udcff name', type: 'file', size: 3, sha256: SHA('5'), module: 'm' },
  { path: 'zz', type: 'file', size: 1, sha256: SHA('6'), module: 'm' },
];
const SKIPPED: SkippedEntry[] = [{ path: 'zzz', reason: 'excluded' }];

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function parent(): { dir: string; header: BundleHeader } {
  dir = tempDir('clawback-parent-files-');
  const written = writeInventory(dir, ENTRIES, SKIPPED);
  return { dir, header: { inventory: written.ref, contentSha256: written.contentSha256 } as BundleHeader };
}

describe('the parent bundle files push compares with', () => {
  it('gives each file its recorded size and sha256, in path order, escaped paths too; nothing for a directory, a link, a skipped path or an absent one', () => {
    const files = parentFiles(parent());
    expect(files.find('a"b,"c')).toEqual({ size: 12, sha256: SHA('1') });
    expect(files.find('agents')).toBeUndefined();
    expect(files.find('agents/a-missing-one')).toBeUndefined();
    expect(files.find('agents/db.sqlite')).toEqual({ size: 8192, sha256: SHA('2') });
    expect(files.find('back\\slash')).toEqual({ size: 0, sha256: SHA('3') });
    expect(files.find('link')).toBeUndefined();
    expect(files.find('odd-order')).toEqual({ size: 4096, sha256: SHA('4') });
    expect(files.find('w\udcff name')).toEqual({ size: 3, sha256: SHA('5') });
    expect(files.find('zz')).toEqual({ size: 1, sha256: SHA('6') });
    expect(files.find('zzz')).toBeUndefined();
    expect(files.drain()).toBe(true);
  });

  it('a sidecar whose bytes are not those its header records: drain says so', () => {
    const record = parent();
    const file = path.join(record.dir, record.header.inventory!.file);
    const bytes = fs.readFileSync(file);
    // The gzip trailer's CRC: the lines still read, the bytes are not the recorded ones.
    bytes[bytes.length - 6] = bytes[bytes.length - 6]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const files = parentFiles(record);
    files.find('zz');
    expect(files.drain()).toBe(false);
  });

  it('a sidecar cut short: no answer is given from it, and drain says so', () => {
    const record = parent();
    const file = path.join(record.dir, record.header.inventory!.file);
    fs.truncateSync(file, fs.statSync(file).size - 10);
    const files = parentFiles(record);
    expect(files.find('a"b,"c')).toBeUndefined();
    expect(files.drain()).toBe(false);
  });
});
