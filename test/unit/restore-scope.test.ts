import { describe, expect, it } from 'vitest';
import { intersectWithin, matchSnapshotPaths } from '../../src/engine/restore/scope.js';
import { ClawbackError } from '../../src/errors.js';

const bundle = {
  timestamp: '2026-04-20T10-00-00-000Z',
  entries: ['workspace', 'workspace/SOUL.md', 'workspace/memory', 'workspace/memory/2026-04-18.md', 'workspace/memory/2026-04-19.md', 'workspace-ops', 'workspace-ops/SOUL.md', '.env', 'memory', 'memory/main.sqlite'].map((path) => ({ path })),
};

function failure(globs: string[]): ClawbackError {
  try {
    matchSnapshotPaths(bundle, globs, 'oc');
  } catch (error) {
    if (error instanceof ClawbackError) return error;
    throw error;
  }
  throw new Error(`${globs.join(' ')} matched`);
}

describe('matchSnapshotPaths (--path)', () => {
  it('takes a plain path as that file or directory, normalised, and a glob as the whole paths it matches', () => {
    expect(matchSnapshotPaths(bundle, ['./workspace/SOUL.md'], 'oc')).toEqual(['workspace/SOUL.md']);
    expect(matchSnapshotPaths(bundle, ['workspace/memory/'], 'oc')).toEqual(['workspace/memory']);
    expect(matchSnapshotPaths(bundle, ['workspace/memory/2026-04-1*.md'], 'oc')).toEqual(['workspace/memory/2026-04-18.md', 'workspace/memory/2026-04-19.md']);
    expect(matchSnapshotPaths(bundle, ['**/SOUL.md'], 'oc')).toEqual(['workspace-ops/SOUL.md', 'workspace/SOUL.md']);
    expect(matchSnapshotPaths(bundle, ['*'], 'oc')).toEqual(['.env', 'memory', 'workspace', 'workspace-ops']);
  });

  it('keeps only the outermost of paths below one another', () => {
    expect(matchSnapshotPaths(bundle, ['workspace/memory/2026-04-18.md', 'workspace', 'memory'], 'oc')).toEqual(['memory', 'workspace']);
  });

  it('refuses a path that matches nothing (exit 4) with the nearest one, and .. or the root (exit 2)', () => {
    const typo = failure(['workspace/SOUL.mdx']);
    expect(typo.exitCode).toBe(4);
    expect(typo.hint).toContain('did you mean "workspace/SOUL.md"');
    expect(failure(['SOUL.md']).hint).toContain('did you mean "workspace/SOUL.md"');
    expect(failure(['workspace/*.txt']).exitCode).toBe(4);
    expect(failure(['../etc/passwd']).exitCode).toBe(2);
    expect(failure(['.']).exitCode).toBe(2);
  });
});

describe('intersectWithin', () => {
  it('is the subtrees both lists select', () => {
    expect(intersectWithin(['workspace'], ['workspace/memory', 'memory'])).toEqual(['workspace/memory']);
    expect(intersectWithin(['workspace/SOUL.md', 'skills'], ['workspace'])).toEqual(['workspace/SOUL.md']);
    expect(intersectWithin(['a'], ['b'])).toEqual([]);
  });
});
