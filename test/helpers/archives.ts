import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Header } from 'tar';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { addSandbox } from '../../src/engine/sandbox/sandbox.js';
import { createSnapshot } from '../../src/engine/capture/create.js';
import { tempDir } from './cli.js';
import { testDeps } from './deps.js';
import { readTree, type TreeItem } from './tree.js';

/** A generated tiny QwenPaw home (research agent outside the working dir), registered as `qp` and snapshotted. */
export interface QwenPawSource {
  base: string;
  home: string;
  sample: GeneratedHome;
  /** The snapshot's timestamp. */
  timestamp: string;
  cleanup(): void;
}

export async function qwenPawSource(prefix = 'clawback-qwenpaw-'): Promise<QwenPawSource> {
  const base = tempDir(prefix);
  const home = path.join(base, 'home');
  const sample = generateHome({ kind: 'qwenpaw', scale: 'tiny', dir: path.join(base, 'src') });
  // Set up in this process: only the commands under test pay for starting the CLI.
  const deps = testDeps(home);
  addSandbox('qp', { agent: 'qwenpaw', root: sample.root }, base, deps);
  const { timestamp } = await createSnapshot({ sandbox: 'qp', scope: {} }, deps);
  return { base, home, sample, timestamp, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/** A fresh clawback home with an empty QwenPaw working dir registered as `name` (a machine that never saw the agents). */
export function freshQwenPaw(base: string, name: string, agent = 'qwenpaw'): { home: string; root: string } {
  const home = path.join(base, `${name}-home`);
  const root = path.join(base, `${name}-machine`, 'working');
  fs.mkdirSync(root, { recursive: true });
  addSandbox(name, { agent, root }, base, testDeps(home));
  return { home, root };
}

export async function expectOk<T extends { exitCode?: number; stderr?: unknown }>(pending: Promise<T>): Promise<T> {
  const result = await pending;
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${String(result.stderr)}`);
  return result;
}

/** Browser caches (excluded by the qwenpaw manifest) and SQLite files (compared by content). */
export function notComparedByBytes(rel: string): boolean {
  return /(^|\/)(Cache|GPUCache|Code Cache)(\/|$)/.test(rel) || /(^|\/)Cache[^/]*$/.test(rel) || /\.db(-wal|-shm|-journal)?$/.test(rel);
}

/** A workspace tree with agent.json's workspace_dir blanked out (it is rewritten on purpose). */
export function workspaceTree(dir: string): Map<string, TreeItem | Record<string, unknown>> {
  const tree: Map<string, TreeItem | Record<string, unknown>> = readTree(dir, { skip: notComparedByBytes });
  const agentFile = path.join(dir, 'agent.json');
  if (fs.existsSync(agentFile)) {
    const agent = JSON.parse(fs.readFileSync(agentFile, 'utf8')) as Record<string, unknown>;
    tree.set('agent.json', { ...agent, workspace_dir: '<rewritten>', mode: fs.statSync(agentFile).mode & 0o777 });
  }
  return tree;
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export interface RawTarEntry {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  data?: Buffer;
  linkpath?: string;
  /** Declared size, when it should lie about the data. */
  size?: number;
}

/** Blocks of a tar archive built entry by entry, for archives clawback would never write. */
export function tarBytes(entries: RawTarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    const header = Buffer.alloc(512);
    new Header({
      path: entry.path,
      type: entry.type,
      mode: entry.type === 'Directory' ? 0o755 : 0o644,
      size: entry.size ?? (entry.type === 'File' ? data.length : 0),
      mtime: new Date('2026-04-21T14:11:25Z'),
      uid: 0,
      gid: 0,
      ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}),
    }).encode(header, 0);
    blocks.push(header);
    if (entry.type === 'File' && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** An uncompressed tar clawback wrote, with `extra` entries appended after its own. */
export function tarWithExtra(exported: Buffer, extra: RawTarEntry[]): Buffer {
  // writeTar ends an archive with exactly two zero blocks.
  const end = exported.length - 1024;
  if (!exported.subarray(end).every((b) => b === 0)) throw new Error('not an archive written by writeTar');
  return Buffer.concat([exported.subarray(0, end), tarBytes(extra)]);
}

export function gunzip(file: string): Buffer {
  return zlib.gunzipSync(fs.readFileSync(file));
}
