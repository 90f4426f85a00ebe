import fs from 'node:fs';
import path from 'node:path';
import type { Result } from 'execa';
import { generateHome } from '../../fixtures/generate.js';
import { expect } from 'vitest';
import { clawback, tempDir } from './cli.js';
import { writeDatabaseRow } from './sqlite.js';
import { copyTree, treeDigest } from './tree.js';

export interface RestoreFixture {
  dir: string;
  home: string;
  root: string;
  databases: string[];
  cli: (...args: string[]) => Promise<Result>;
  /** Runs clawback with CLAWBACK_TEST_FAULT set: it SIGKILLs itself at that fault point. */
  cliKilledAt: (point: string, ...args: string[]) => Promise<Result>;
  cleanup: () => void;
}

/** A tiny generated OpenClaw home registered as `oc` in a fresh clawback home. */
export async function openClawFixture(prefix = 'clawback-restore-'): Promise<RestoreFixture> {
  const dir = tempDir(prefix);
  const home = path.join(dir, 'home');
  const generated = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(dir, 'state') });
  const cli = (...args: string[]): Promise<Result> => clawback(home, args);
  const cliKilledAt = (point: string, ...args: string[]): Promise<Result> => clawback(home, args, { env: { CLAWBACK_TEST_FAULT: point } });
  const added = await cli('sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', generated.root);
  if (added.exitCode !== 0) throw new Error(`sandbox add failed: ${String(added.stderr)}`);
  return { dir, home, root: generated.root, databases: generated.databases, cli, cliKilledAt, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Leftovers a restore must never leave beside a state dir. */
export function restoreLeftovers(root: string): string[] {
  const base = path.basename(root);
  return fs.readdirSync(path.dirname(root)).filter((n) => n.startsWith(`${base}.clawback-`));
}

/** A fixture with one snapshot (v1), then changed; the old (changed) and new (v1) states of its root, and a copy of the old one. */
export interface RestoreScenario {
  f: RestoreFixture;
  /** A copy of the changed root: put it back before each run. */
  template: string;
  oldState: Record<string, string>;
  newState: Record<string, string>;
  /** The root's digest, databases by content: the pre-restore snapshot checkpoints the live WAL, which changes bytes but no rows. */
  digest: () => Record<string, string>;
}

/** Snapshot, then change a file, remove one, add one, touch an excluded log and write a database row; restore v1 once to learn the new state. */
export async function restoreScenario(prefix: string): Promise<RestoreScenario> {
  const f = await openClawFixture(prefix);
  const digest = (): Record<string, string> => treeDigest(f.root, { databasesByContent: true });
  expect((await f.cli('oc', 'snapshot', 'create')).exitCode).toBe(0);
  fs.writeFileSync(path.join(f.root, 'workspace/SOUL.md'), 'changed after the snapshot\n');
  fs.rmSync(path.join(f.root, 'workspace/USER.md'));
  fs.writeFileSync(path.join(f.root, 'workspace/NEW.md'), 'added after the snapshot\n');
  fs.appendFileSync(path.join(f.root, 'logs/gateway.log'), 'excluded, carried over\n');
  writeDatabaseRow(f.databases.find((d) => d.endsWith(path.join('memory', 'main.sqlite')))!);
  const template = path.join(f.dir, 'template');
  await copyTree(f.root, template);
  const oldState = digest();
  const clean = await f.cli('oc', 'snapshot', 'restore', 'v1');
  expect(clean.exitCode, String(clean.stderr)).toBe(0);
  const newState = digest();
  expect(newState).not.toEqual(oldState);
  return { f, template, oldState, newState, digest };
}
