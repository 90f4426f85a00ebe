import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/errors.js';
import { ArchiveGuard, type ArchiveEntryCheck, type ArchiveGuardOptions, type ArchiveLimits } from '../../src/formats/archive-guard.js';

const MiB = 1024 * 1024;
const file = (name: string, size = 10, compressedSize?: number): ArchiveEntryCheck =>
  compressedSize === undefined ? { name, type: 'file', size } : { name, type: 'file', size, compressedSize };
const dir = (name: string): ArchiveEntryCheck => ({ name, type: 'directory', size: 0 });

function refusal(entries: ArchiveEntryCheck[], limits: Partial<ArchiveLimits> = {}, options: ArchiveGuardOptions = {}): RefusedError | undefined {
  const guard = new ArchiveGuard(limits, options);
  try {
    for (const entry of entries) guard.check(entry);
  } catch (error) {
    if (error instanceof RefusedError) return error;
    throw error;
  }
  return undefined;
}

describe('ArchiveGuard', () => {
  const refused: Array<[string, ArchiveEntryCheck[], string, Partial<ArchiveLimits>?]> = [
    ['a .. segment', [file('a/../../evil')], 'a/../../evil'],
    ['a leading ..', [file('../evil')], '../evil'],
    ['an absolute path', [file('/etc/passwd')], '/etc/passwd'],
    ['a drive letter', [file('C:/Windows/x')], 'C:/Windows/x'],
    ['a backslash', [file('a\\..\\evil')], 'a\\\\..\\\\evil'],
    ['a NUL byte', [file('a\0b')], 'a\\u0000b'],
    ['an empty name', [file('')], '""'],
    ['a ./ segment', [file('./a')], './a'],
    ['a file name ending in a slash', [file('a/')], 'a/'],
    ['a symlink', [{ name: 'link', type: 'symlink', size: 0, linkTarget: '/etc' }], 'link'],
    ['a hard link', [{ name: 'hard', type: 'hardlink', size: 0, linkTarget: 'a' }], 'hard'],
    ['a device', [{ name: 'dev', type: 'device', size: 0 }], 'dev'],
    ['an unknown entry type', [{ name: 'odd', type: 'other', size: 0 }], 'odd'],
    ['a duplicate file', [file('a'), file('a')], '"a"'],
    ['a duplicate directory written with and without a slash', [dir('d/'), dir('d')], '"d"'],
    ['a file where a directory was implied', [file('d/x'), file('d')], '"d"'],
    ['an entry below a file', [file('f'), file('f/x')], 'f/x'],
    ['an invalid agent id under workspaces/', [file('workspaces/bad.id/x')], 'workspaces/bad.id/x'],
    ['an invalid agent id under data/workspaces/', [file('data/workspaces/-lead/x')], 'data/workspaces/-lead/x'],
    ['a one-character agent id', [dir('workspaces/a/')], 'workspaces/a/'],
    ['an agent id ending in an underscore', [file('workspaces/agent_/x')], 'workspaces/agent_/x'],
    ['a 65-character agent id', [file(`workspaces/${'a'.repeat(65)}/x`)], 'a'.repeat(65)],
    ['too many entries', [file('a'), file('b'), file('c')], '"c"', { maxEntries: 2 }],
    ['too many bytes in total', [file('a', 600), file('b', 500)], '"b"', { maxTotalBytes: 1000 }],
    ['a compression ratio over 200:1 on a large entry', [file('bomb', 2 * MiB, 10_000)], 'bomb'],
    ['a large entry that claims zero compressed bytes', [file('bomb', 2 * MiB, 0)], 'bomb'],
    ['a negative size', [file('neg', -1)], 'neg'],
    ['a fractional size', [file('frac', 1.5)], 'frac'],
  ];

  for (const [what, entries, named, limits] of refused) {
    it(`refuses ${what}, naming the entry`, () => {
      const error = refusal(entries, limits);
      expect(error, what).toBeInstanceOf(RefusedError);
      expect(error!.code).toBe('hostile-archive');
      expect(error!.exitCode).toBe(5);
      expect(error!.message).toContain(named);
    });
  }

  const accepted: Array<[string, ArchiveEntryCheck[], Partial<ArchiveLimits>?]> = [
    ['ordinary files and directories', [dir('data/'), file('data/config.json'), dir('data/skill_pool/'), file('data/skill_pool/s/x.md')]],
    ['a directory listed after files inside it', [file('d/x'), dir('d/')]],
    ['valid agent ids', [file('workspaces/main/a'), file('data/workspaces/Agent-2_b/x'), file(`workspaces/${'a'.repeat(64)}/x`)]],
    ['the workspaces directory itself', [dir('workspaces/'), dir('data/workspaces/')]],
    ['names that only look like dots', [file('a/..b'), file('.hidden'), file('a/.../c')]],
    ['a highly compressed entry of exactly 1 MiB', [file('small', MiB, 10)]],
    ['a large entry at 200:1', [file('ok', 2 * MiB, Math.ceil((2 * MiB) / 200))]],
    ['entries up to the count limit', [file('a'), file('b')], { maxEntries: 2 }],
    ['bytes up to the total limit', [file('a', 500), file('b', 500)], { maxTotalBytes: 1000 }],
  ];

  for (const [what, entries, limits] of accepted) {
    it(`accepts ${what}`, () => {
      expect(refusal(entries, limits)).toBeUndefined();
    });
  }

  it('returns the normalised name, without a directory slash', () => {
    const guard = new ArchiveGuard();
    expect(guard.check(dir('a/b/'))).toBe('a/b');
    expect(guard.check(file('a/b/c'))).toBe('a/b/c');
    expect(guard.entryCount).toBe(2);
  });

  it('accepts a relative symlink that stays inside only when the caller allows it', () => {
    const allowSymlink = (): boolean => true;
    const link = (name: string, linkTarget: string): ArchiveEntryCheck => ({ name, type: 'symlink', size: 0, linkTarget });
    expect(refusal([link('a/link', '../b')], {}, { allowSymlink })).toBeUndefined();
    expect(refusal([link('a/link', '../b')])).toBeInstanceOf(RefusedError);
    expect(refusal([link('a/link', '../../b')], {}, { allowSymlink })).toBeInstanceOf(RefusedError);
    expect(refusal([link('a/link', '/etc')], {}, { allowSymlink })).toBeInstanceOf(RefusedError);
    expect(refusal([link('a/link', 'x')], {}, { allowSymlink: () => false })).toBeInstanceOf(RefusedError);
  });

  it('refuses an entry below an allowed symlink', () => {
    const error = refusal(
      [{ name: 'a/link', type: 'symlink', size: 0, linkTarget: 'b' }, file('a/link/x')],
      {},
      { allowSymlink: () => true },
    );
    expect(error?.message).toContain('a/link/x');
  });

  it('applies the agent-id rule only under the roots it is given', () => {
    expect(refusal([file('workspaces/bad.id/x')], {}, { agentIdRoots: [] })).toBeUndefined();
    expect(refusal([file('payload/workspaces/bad.id/x')], {}, { agentIdRoots: ['payload/workspaces'] })).toBeInstanceOf(RefusedError);
  });
});
