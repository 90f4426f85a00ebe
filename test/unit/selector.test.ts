import { describe, expect, it } from 'vitest';
import { restoreNeed } from '../../src/engine/bundle/scope.js';
import type { BundleHeader } from '../../src/manifest/bundle-manifest.js';
import type { BundleRecord } from '../../src/store/bundles.js';
import { resolveSelector } from '../../src/store/selector.js';
import { shortIdOf } from '../../src/store/short-id.js';

/** A complete bundle record as listing makes it, with only what selectors read. */
function record(timestamp: string, version: number, scope: Partial<BundleHeader['scope']> = {}, name: string | null = null, shortId = shortIdOf('oc', timestamp)): BundleRecord {
  const header = { name, scope: { full: true, modules: ['config', 'workspaces', 'secrets', 'other'], agents: null, includesSecrets: true, excludes: [], ...scope }, includesSecrets: true } as unknown as BundleHeader;
  return { id: timestamp, shortId, dir: `/b/${timestamp}`, timestamp, time: undefined, state: 'complete', version, header, payloadDir: '', legacy: undefined, manifest: undefined, problem: undefined };
}

const facts = { known: ['config', 'workspaces', 'secrets', 'other'], isSecret: (m: string) => m === 'secrets' };

describe('resolveSelector', () => {
  const full = record('2026-04-01T00-00-00-000Z', 1, {}, null, 'aaaa1111');
  const config = record('2026-04-02T00-00-00-000Z', 2, { full: false, modules: ['config'] }, 'cfg', 'aaaa2222');
  const pre = record('2026-04-03T00-00-00-000Z', 3, {}, 'pre-restore-x', '2026beef');
  const records = [full, config, pre];

  it('reads a unique short-id prefix of 4 or more, in either case', () => {
    expect(resolveSelector(records, 'aaaa2', 'oc')).toBe(config);
    expect(resolveSelector(records, 'AAAA22', 'oc')).toBe(config);
    expect(() => resolveSelector(records, 'aaa', 'oc')).toThrow(/no snapshot of oc matches/);
  });

  it('an ambiguous short-id prefix is a usage error listing the candidates', () => {
    expect(() => resolveSelector(records, 'aaaa', 'oc')).toThrow(expect.objectContaining({ exitCode: 2, details: [expect.stringContaining('aaaa1111 v1'), expect.stringContaining('aaaa2222 v2')] }));
  });

  it('a timestamp prefix wins over a short-id prefix', () => {
    // "2026" begins every timestamp (ambiguous), though it is also the start of one short id.
    expect(() => resolveSelector(records, '2026', 'oc')).toThrow(/matches 3 snapshots/);
    expect(resolveSelector(records, '2026b', 'oc')).toBe(pre);
  });

  it('latest: the newest complete non-pre-restore snapshot; for a restore, the newest that covers the need', () => {
    expect(resolveSelector(records, 'latest', 'oc')).toBe(config);
    expect(resolveSelector(records, 'latest', 'oc', restoreNeed({}, facts))).toBe(full);
    expect(resolveSelector(records, 'latest', 'oc', restoreNeed({ only: ['config'] }, facts))).toBe(config);
    expect(resolveSelector(records, 'latest', 'oc', restoreNeed({ only: ['workspaces'] }, facts))).toBe(full);
    // With no full snapshot at all, a bare restore takes the newest partial one (and says so).
    expect(resolveSelector([config], 'latest', 'oc', restoreNeed({}, facts))).toBe(config);
    expect(() => resolveSelector([config], 'latest', 'oc', restoreNeed({ only: ['workspaces'] }, facts))).toThrow(/has no snapshot that holds module workspaces/);
  });

  it('a snapshot without secrets does not cover a restore of the secrets module, nor a bare one', () => {
    const noSecrets = record('2026-04-04T00-00-00-000Z', 4, { full: false, includesSecrets: false });
    const all = [full, noSecrets];
    expect(resolveSelector(all, 'latest', 'oc', restoreNeed({ only: ['workspaces'] }, facts))).toBe(noSecrets);
    expect(resolveSelector(all, 'latest', 'oc', restoreNeed({ only: ['secrets'] }, facts))).toBe(full);
    expect(resolveSelector(all, 'latest', 'oc', restoreNeed({}, facts))).toBe(full);
  });
});
