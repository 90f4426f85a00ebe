import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback, json, tempDir } from '../helpers/cli.js';

const SANDBOXES = ['one', 'three', 'two'];

let base: string;
let home: string;

beforeEach(async () => {
  base = tempDir('clawback-backup-all-race-');
  home = path.join(base, 'home');
  for (const [i, name] of SANDBOXES.entries()) {
    const sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, name), seed: i + 1 });
    const added = await clawback(home, ['sandbox', 'add', name, '--agent', 'openclaw', '--root', sample.root]);
    expect(added.exitCode, String(added.stderr)).toBe(0);
  }
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('two overlapping backup-all runs', () => {
  it('both finish with exit 0 under --wait, and every bundle is complete and verifies', async () => {
    const [first, second] = await Promise.all([
      clawback(home, ['--wait', '30', 'backup-all', '--json']),
      clawback(home, ['--wait', '30', 'backup-all', '--json']),
    ]);
    for (const run of [first, second]) {
      expect(run.exitCode, String(run.stderr)).toBe(0);
      const doc = json<{ counts: Record<string, number> }>(run);
      expect(doc.counts).toEqual({ backedUp: 3, failed: 0, skipped: 0 });
    }
    for (const name of SANDBOXES) {
      expect(bundleIds(home, name).filter((d) => d.endsWith('.partial'))).toEqual([]);
      const list = await clawback(home, [name, 'snapshot', 'list', '--json']);
      const rows = json<{ snapshots: Array<{ state: string; version: number }> }>(list).snapshots;
      expect(rows.map((r) => [r.version, r.state])).toEqual([
        [1, 'complete'],
        [2, 'complete'],
      ]);
      const verify = await clawback(home, [name, 'snapshot', 'verify', '--all']);
      expect(verify.exitCode, String(verify.stdout) + String(verify.stderr)).toBe(0);
    }
    expect(fs.readdirSync(path.join(home, 'locks')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });
});
