import fs from 'node:fs';
import path from 'node:path';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { addSandbox } from '../../src/engine/sandbox/sandbox.js';
import { createSnapshot } from '../../src/engine/capture/create.js';
import { tempDir } from './cli.js';

/** A temp dir holding a generated tiny OpenClaw home and an empty clawback home. */
export interface LifecycleFixture {
  base: string;
  home: string;
  sample: GeneratedHome;
  root: string;
  cleanup(): void;
}

export function lifecycleFixture(prefix = 'clawback-lifecycle-'): LifecycleFixture {
  const base = tempDir(prefix);
  const home = path.join(base, 'home');
  const sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') });
  return { base, home, sample, root: sample.root, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

export function registerOpenClaw(deps: EngineDeps, name: string, root: string): void {
  addSandbox(name, { agent: 'openclaw', root }, process.cwd(), deps);
}

/** Takes a snapshot in this process (setup for tests of other commands); returns its timestamp. */
export async function snapshot(deps: EngineDeps, sandbox: string, label?: string): Promise<string> {
  const summary = await createSnapshot({ sandbox, scope: {}, ...(label !== undefined ? { label } : {}) }, deps);
  return summary.timestamp;
}
