import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawback } from '../helpers/cli.js';
import { restoreLeftovers, restoreScenario, type RestoreFixture } from '../helpers/restore.js';
import { copyTree } from '../helpers/tree.js';

/**
 * Exit 130 means nothing changed (issue 10, item 16). A Ctrl-C (SIGINT, sent by the binary to itself at
 * a fault point: `CLAWBACK_TEST_FAULT=SIGINT@POINT`) before the swap's commit point rolls the restore
 * back at once; after it, the restore finishes and exits with its own result.
 */
const BEFORE_COMMIT = ['restore:staging', 'restore:staged', 'create:before-rename', 'restore:carried'];
/** The swap runs to its commit point without a pause, so a Ctrl-C during it is seen once the restore is committed. */
const AFTER_COMMIT = ['restore:journal-written', 'restore:renamed-staged-0', 'restore:committed', 'restore:before-cleanup'];

let f: RestoreFixture;
let template: string;
let oldState: Record<string, string>;
let newState: Record<string, string>;
let digest: () => Record<string, string>;
const interruptedAt = (point: string): ReturnType<typeof clawback> => clawback(f.home, ['oc', 'snapshot', 'restore', 'v1'], { env: { CLAWBACK_TEST_FAULT: `SIGINT@${point}` } });

beforeAll(async () => {
  ({ f, template, oldState, newState, digest } = await restoreScenario('clawback-restore-sigint-'));
});

afterAll(() => f?.cleanup());

describe('Ctrl-C during a restore', () => {
  it.each(BEFORE_COMMIT)('at %s rolls back and exits 130 saying the state is unchanged', async (point) => {
    await copyTree(template, f.root);
    const result = await interruptedAt(point);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(130);
    expect(stderr).toContain('interrupted: the restore was rolled back; the state of oc is unchanged');
    expect(String(result.stdout)).not.toContain('restored');
    expect(digest()).toEqual(oldState);
    expect(restoreLeftovers(f.root)).toEqual([]);
    expect(fs.existsSync(path.join(f.home, 'journal', 'oc.json'))).toBe(false);
    // Nothing is left for the next command to roll back.
    const next = await f.cli('sandbox', 'list');
    expect(String(next.stderr)).not.toContain('interrupted restore');
  });

  it.each(AFTER_COMMIT)('at %s finishes the restore and exits 0', async (point) => {
    await copyTree(template, f.root);
    const result = await interruptedAt(point);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain('✓ restored oc');
    expect(String(result.stderr)).not.toContain('clawback: interrupted');
    expect(digest()).toEqual(newState);
    expect(restoreLeftovers(f.root)).toEqual([]);
    expect(fs.existsSync(path.join(f.home, 'journal', 'oc.json'))).toBe(false);
  });
});
