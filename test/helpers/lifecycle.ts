import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { addSandbox } from '../../src/engine/sandbox/sandbox.js';
import { createSnapshot } from '../../src/engine/capture/create.js';
import { homeLayout } from '../../src/store/home.js';
import { hostFacts, monotonicClock } from '../../src/cli/host.js';
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

/** Engine deps for in-process tests; `clock` lets a test choose each snapshot's timestamp. */
export function testDeps(home: string, clock: { now: Date } = { now: new Date() }): EngineDeps {
  return { layout: homeLayout(home), now: () => clock.now, events: {}, toolVersion: 'test', lockWaitMs: 0, clock: monotonicClock, host: hostFacts(path.dirname(home)) };
}

export function registerOpenClaw(deps: EngineDeps, name: string, root: string): void {
  addSandbox(name, { agent: 'openclaw', root }, process.cwd(), deps);
}

/** Takes a snapshot in this process (setup for tests of other commands); returns its timestamp. */
export async function snapshot(deps: EngineDeps, sandbox: string, label?: string): Promise<string> {
  const summary = await createSnapshot({ sandbox, scope: {}, ...(label !== undefined ? { label } : {}) }, deps);
  return summary.timestamp;
}

export function sandboxDir(home: string, sandbox: string): string {
  return path.join(home, 'rebuild-backups', sandbox);
}

/** Bundle directory names on disk (complete and .partial), sorted; hidden ones left out. */
export function bundleIds(home: string, sandbox: string): string[] {
  const dir = sandboxDir(home, sandbox);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort() : [];
}

export function payloadPath(home: string, sandbox: string, id: string, rel: string): string {
  return path.join(sandboxDir(home, sandbox), id, 'payload', ...rel.split('/'));
}

/** Invert one byte of a file in place (a bundle file keeps its owner write bit). */
export function flipByte(file: string, offset = 0): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    fs.writeSync(fd, byte, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every path below dir with its lstat identity and content hash: a bundle that is "byte-identical" keeps all of it. */
export function treeFingerprint(dir: string): string[] {
  const lines: string[] = [];
  const walk = (current: string, rel: string): void => {
    for (const name of fs.readdirSync(current).sort()) {
      const full = path.join(current, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const stat = fs.lstatSync(full);
      const what = stat.isSymbolicLink() ? `link ${fs.readlinkSync(full)}` : stat.isDirectory() ? 'dir' : `file ${stat.size} ${sha256File(full)}`;
      lines.push(`${childRel} ${(stat.mode & 0o7777).toString(8)} ${stat.mtimeMs} ${what}`);
      if (stat.isDirectory()) walk(full, childRel);
    }
  };
  walk(dir, '');
  return lines;
}

/** Regular files of a bundle's payload that no other path links to (nlink 1), with their sizes. */
export function unlinkedPayloadFiles(bundleDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (current: string, rel: string): void => {
    for (const name of fs.readdirSync(current)) {
      const full = path.join(current, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const stat = fs.lstatSync(full);
      if (stat.isDirectory()) walk(full, childRel);
      else if (stat.isFile() && stat.nlink === 1) out.set(childRel, stat.size);
    }
  };
  walk(path.join(bundleDir, 'payload'), '');
  return out;
}
