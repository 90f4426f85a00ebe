import fs from 'node:fs';
import path from 'node:path';
import type { Result } from 'execa';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, tempDir } from './cli.js';

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
