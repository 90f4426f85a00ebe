import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreLeftovers, restoreScenario, type RestoreFixture } from '../helpers/restore.js';
import { copyTree } from '../helpers/tree.js';

/** Fault points in the order a restore passes them, with the journal state a kill there leaves and the state recovery must produce. */
const POINTS: Array<{ point: string; journal: 'staging' | 'swapping' | 'committed'; expect: 'old' | 'new' }> = [
  { point: 'restore:staging', journal: 'staging', expect: 'old' },
  { point: 'restore:staged', journal: 'staging', expect: 'old' },
  { point: 'create:before-rename', journal: 'staging', expect: 'old' },
  { point: 'restore:carried', journal: 'staging', expect: 'old' },
  { point: 'restore:journal-written', journal: 'swapping', expect: 'old' },
  { point: 'restore:renamed-live-0', journal: 'swapping', expect: 'old' },
  { point: 'restore:renamed-staged-0', journal: 'swapping', expect: 'old' },
  { point: 'restore:committed', journal: 'committed', expect: 'new' },
  { point: 'restore:before-cleanup', journal: 'committed', expect: 'new' },
  { point: 'restore:cleaned-0', journal: 'committed', expect: 'new' },
];

let f: RestoreFixture;
let template: string;
let oldState: Record<string, string>;
let newState: Record<string, string>;
let digest: () => Record<string, string>;

beforeAll(async () => {
  ({ f, template, oldState, newState, digest } = await restoreScenario('clawback-restore-kill-'));
});

afterAll(() => f?.cleanup());

describe('a restore killed with SIGKILL at any point', () => {
  it.each(POINTS)('at $point leaves exactly the $expect state once the next command has run', async ({ point, journal, expect: want }) => {
    await copyTree(template, f.root);
    expect(digest()).toEqual(oldState);

    // v1, not latest: every restore adds a pre-restore snapshot, which then is the latest.
    const killed = await f.cliKilledAt(point, 'oc', 'snapshot', 'restore', 'v1');
    expect(killed.signal, `${point} was never reached: ${String(killed.stderr)}`).toBe('SIGKILL');
    const journalFile = path.join(f.home, 'journal', 'oc.json');
    expect((JSON.parse(fs.readFileSync(journalFile, 'utf8')) as { state: string }).state).toBe(journal);
    if (point === 'restore:renamed-live-0') expect(fs.existsSync(f.root)).toBe(false);

    const next = await f.cli('sandbox', 'list');
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(String(next.stderr)).toContain('an interrupted restore of oc was');
    expect(digest()).toEqual(want === 'old' ? oldState : newState);
    expect(restoreLeftovers(f.root)).toEqual([]);
    expect(fs.existsSync(journalFile)).toBe(false);
  });

  it('an unreadable journal stops every command with exit 6 rather than being ignored', async () => {
    const journalFile = path.join(f.home, 'journal', 'oc.json');
    fs.mkdirSync(path.dirname(journalFile), { recursive: true });
    fs.writeFileSync(journalFile, JSON.stringify({ version: 99, sandbox: 'oc', state: 'swapping', pairs: [] }));
    try {
      const result = await f.cli('sandbox', 'list');
      expect(result.exitCode).toBe(6);
      expect(String(result.stderr)).toContain('journal version 99 is not supported');
    } finally {
      fs.rmSync(journalFile);
    }
  });
});
