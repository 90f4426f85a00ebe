import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { IntegrityError } from '../../errors.js';
import type { BundleEntry, BundleManifest, BundleScope, EntryType } from '../../manifest/bundle-manifest.js';
import { backupDatabase } from '../../sqlite/backup.js';
import { isSqliteFile } from '../../sqlite/detect.js';
import type { BundleRecord } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { resolveSelector } from '../../store/selector.js';
import { threadReader } from '../../fs-safety/file-reader.js';
import { scanMounts, type ScannedEntry } from '../sandbox/scan.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { Selection, type ScopeOptions } from '../sandbox/selection.js';
import { sandboxRecords } from '../bundle/find.js';
import { restoredMode } from '../bundle/restored-mode.js';
import { stillAsCaptured } from '../bundle/source-identity.js';
import { isRemoteSandbox, withSandboxTransport } from '../sandbox/transport.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { BundleMount } from '../../manifest/bundle-manifest.js';
import { remoteLiveState } from './diff-remote.js';

export interface DiffRequest {
  sandbox: string;
  /** The older side. */
  from: string;
  /** The newer side; the live state when omitted. */
  to?: string;
}

export interface DiffSide {
  kind: 'snapshot' | 'live';
  id: string | null;
  version: number | null;
  name: string | null;
  /** Live side: the state root. */
  root: string | null;
}

export interface DiffState {
  type: EntryType;
  size: number | null;
  mode: number | null;
  target: string | null;
}

export type DiffChange = 'content' | 'mode' | 'target' | 'type';

export interface DiffItem {
  path: string;
  before: DiffState | null;
  after: DiffState | null;
  /** For changed items: what differs. */
  changes: DiffChange[];
}

export interface DiffTotals {
  files: number;
  bytes: number;
}

export interface DiffSummary {
  sandbox: string;
  from: DiffSide;
  to: DiffSide;
  added: DiffItem[];
  removed: DiffItem[];
  changed: DiffItem[];
  totals: { added: DiffTotals; removed: DiffTotals; changed: { files: number; bytesBefore: number; bytesAfter: number } };
  /** Live files whose content had to be hashed (size equal, mtime different) and databases copied to compare. */
  hashedFiles: number;
}

/** One side's view of a path: a snapshot entry, or a scanned live path. */
interface Node {
  state: DiffState;
  entry?: BundleEntry;
  live?: ScannedEntry;
  /** A remote live file: whether it holds the older entry's bytes, settled by the remote scan (diff-remote.ts). */
  same?: boolean;
}

/**
 * Added, removed and changed paths between two snapshots, or a snapshot and the live
 * state. Snapshot sides compare manifest hashes. The live side is scanned with the same
 * selection the snapshot used (its scope, the agent manifest's excludes), so excluded
 * caches never show as removed; a live file is hashed only when its size is equal but its
 * mtime is not, and a database is compared through a fresh backup-API copy unless its
 * main file and -wal are exactly as captured.
 */
export async function diffSnapshots(request: DiffRequest, deps: EngineDeps): Promise<DiffSummary> {
  const records = sandboxRecords(request.sandbox, deps);
  const fromRecord = usable(resolveSelector(records, request.from, request.sandbox));
  const fromManifest = fromRecord.manifest!;
  const before = nodesOfManifest(fromManifest);
  let after: Map<string, Node>;
  let to: DiffSide;
  let remoteHashed = 0;
  if (request.to !== undefined) {
    const toRecord = usable(resolveSelector(records, request.to, request.sandbox));
    after = nodesOfManifest(toRecord.manifest!);
    to = sideOf(toRecord);
  } else {
    const live = await scanLive(request.sandbox, fromManifest, deps);
    tightenSecrets(before, live.selection);
    after = live.nodes;
    remoteHashed = live.hashed;
    to = { kind: 'live', id: null, version: null, name: null, root: live.root };
  }
  const comparer = new ContentComparer(sandboxBundleDir(deps.layout, request.sandbox), deps.host.pid, (message) => deps.events.warning?.(message));
  try {
    return { sandbox: request.sandbox, from: sideOf(fromRecord), to, ...(await compare(before, after, comparer)), hashedFiles: comparer.hashed + remoteHashed };
  } finally {
    comparer.close();
  }
}

function usable(record: BundleRecord): BundleRecord {
  if (record.state !== 'complete' || record.manifest === undefined) {
    throw new IntegrityError('bundle-unusable', `${record.id} is ${record.state === 'partial' ? 'incomplete' : 'corrupt'} and cannot be compared`, {
      hint: 'pick a complete snapshot (`snapshot list`)',
    });
  }
  return record;
}

function sideOf(record: BundleRecord): DiffSide {
  return { kind: 'snapshot', id: record.id, version: record.version ?? null, name: record.header?.name ?? null, root: null };
}

function nodesOfManifest(manifest: BundleManifest): Map<string, Node> {
  const nodes = new Map<string, Node>();
  for (const entry of manifest.entries) {
    nodes.set(entry.path, { state: stateOfEntry(entry), entry });
  }
  return nodes;
}

function stateOfEntry(entry: BundleEntry): DiffState {
  return {
    type: entry.type,
    size: entry.type === 'file' ? entry.size ?? 0 : null,
    mode: entry.type === 'symlink' ? null : entry.mode ?? null,
    target: entry.target ?? null,
  };
}

/** The snapshot's scope, in the terms the live scan understands; modules the agent no longer has are dropped. */
function liveScope(scope: BundleScope, known: readonly string[]): ScopeOptions {
  const options: ScopeOptions = { excludes: scope.excludes, noSecrets: !scope.includesSecrets };
  if (scope.paths) options.within = scope.paths;
  if (!scope.full) options.only = scope.modules.filter((m) => known.includes(m));
  if (scope.agents) options.agents = scope.agents;
  return options;
}

/** Against the live state, a secret is compared with the mode a restore gives it, so a restore followed by diff shows nothing. */
function tightenSecrets(nodes: Map<string, Node>, selection: Selection): void {
  for (const node of nodes.values()) {
    const entry = node.entry;
    if (entry === undefined || entry.type === 'symlink' || !selection.isSecretModule(entry.module)) continue;
    node.state = { ...node.state, mode: restoredMode(entry, true) };
  }
}

interface LiveSide {
  root: string;
  nodes: Map<string, Node>;
  selection: Selection;
  hashed: number;
}

function liveNode(scanned: ScannedEntry, same?: boolean): Node {
  const stat = scanned.stat;
  return {
    state: {
      type: scanned.type,
      size: scanned.type === 'file' ? stat.size : null,
      mode: scanned.type === 'symlink' ? null : stat.mode & 0o7777,
      target: scanned.target ?? null,
    },
    live: scanned,
    ...(same !== undefined ? { same } : {}),
  };
}

/** The live state, scanned with the snapshot's selection: on this filesystem, or through the sandbox's transport. */
async function scanLive(sandbox: string, snapshot: BundleManifest, deps: EngineDeps): Promise<LiveSide> {
  const entry = getSandbox(deps.layout, sandbox);
  const agentManifest = loadAgentManifest(entry.agent);
  const mounts = resolveMounts(entry, agentManifest, deps.host.homeDir);
  const known = new Selection(agentManifest, mounts, {}).modulesKnown;
  const selection = new Selection(agentManifest, mounts, liveScope(snapshot.scope, known));
  deps.events.phase?.('scan');
  if (isRemoteSandbox(entry)) return scanRemoteLive(entry, mounts, selection, agentManifest.managedLinks, snapshot, deps);
  if (!fs.statSync(entry.root, { throwIfNoEntry: false })?.isDirectory()) {
    deps.events.warning?.(`state root ${entry.root} does not exist: everything in the snapshot shows as removed`);
  }
  const scan = scanMounts(mounts, selection, agentManifest.managedLinks, [deps.layout.home]);
  for (const link of scan.unsafeLinks) deps.events.warning?.(`${link}: an unsafe link a snapshot would refuse; not compared`);
  for (const special of scan.specialFiles) deps.events.warning?.(`${special}: a snapshot would refuse it; not compared`);
  const nodes = new Map<string, Node>();
  for (const scanned of scan.entries) nodes.set(scanned.path, liveNode(scanned));
  return { root: entry.root, nodes, selection, hashed: 0 };
}

/** Never a local path of the same name: the target is scanned, and what must be hashed is hashed there. */
async function scanRemoteLive(entry: SandboxEntry, mounts: BundleMount[], selection: Selection, managedLinks: string[], snapshot: BundleManifest, deps: EngineDeps): Promise<LiveSide> {
  const captured = new Map(snapshot.entries.map((e) => [e.path, e]));
  const live = await withSandboxTransport(entry, deps, (transport) => remoteLiveState(transport, { root: entry.root, mounts, selection, managedLinks, captured }));
  if (!live.rootExists) deps.events.warning?.(`state root ${entry.root} does not exist in ${entry.via}: everything in the snapshot shows as removed`);
  for (const warning of live.warnings) deps.events.warning?.(warning);
  const nodes = new Map<string, Node>();
  for (const file of live.entries) nodes.set(file.scanned.path, liveNode(file.scanned, file.same ?? false));
  return { root: entry.root, nodes, selection, hashed: live.hashed };
}

async function compare(before: Map<string, Node>, after: Map<string, Node>, comparer: ContentComparer): Promise<Omit<DiffSummary, 'sandbox' | 'from' | 'to' | 'hashedFiles'>> {
  const added: DiffItem[] = [];
  const removed: DiffItem[] = [];
  const changed: DiffItem[] = [];
  for (const [p, old] of before) {
    const now = after.get(p);
    if (now === undefined) {
      removed.push({ path: p, before: old.state, after: null, changes: [] });
      continue;
    }
    const changes: DiffChange[] = [];
    if (old.state.type !== now.state.type) changes.push('type');
    else {
      if (old.state.type === 'file' && !(await comparer.sameContent(p, old, now))) changes.push('content');
      if (old.state.type === 'symlink' && old.state.target !== now.state.target) changes.push('target');
      if (old.state.mode !== null && now.state.mode !== null && old.state.mode !== now.state.mode) changes.push('mode');
    }
    if (changes.length > 0) changed.push({ path: p, before: old.state, after: now.state, changes });
  }
  for (const [p, now] of after) if (!before.has(p)) added.push({ path: p, before: null, after: now.state, changes: [] });
  const byPath = (a: DiffItem, b: DiffItem): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  added.sort(byPath);
  removed.sort(byPath);
  changed.sort(byPath);
  const fileBytes = (items: DiffItem[], side: 'before' | 'after'): DiffTotals => {
    const files = items.filter((i) => i[side]?.type === 'file');
    return { files: files.length, bytes: files.reduce((sum, i) => sum + (i[side]?.size ?? 0), 0) };
  };
  return {
    added,
    removed,
    changed,
    totals: {
      added: fileBytes(added, 'after'),
      removed: fileBytes(removed, 'before'),
      changed: { files: changed.length, bytesBefore: fileBytes(changed, 'before').bytes, bytesAfter: fileBytes(changed, 'after').bytes },
    },
  };
}

/** Decides whether a newer side's file holds the same bytes as an older snapshot entry, hashing only when it must. */
class ContentComparer {
  hashed = 0;
  private scratch: string | undefined;

  constructor(
    private readonly sandboxDir: string,
    private readonly pid: number,
    private readonly warn: (message: string) => void,
  ) {}

  async sameContent(rel: string, old: Node, now: Node): Promise<boolean> {
    const entry = old.entry;
    if (entry?.sha256 === undefined) return false;
    if (now.live === undefined) return entry.sha256 === now.entry?.sha256;
    if (now.same !== undefined) return now.same;
    const live = now.live;
    if (entry.strategy === 'sqlite_backup' && isSqliteFile(live.source)) {
      // The bundle holds a backup-API copy, not the live bytes: compare a fresh copy, unless nothing moved (create's rule for reusing a copy).
      if (stillAsCaptured(entry, live.stat, live.source)) return true;
      return this.unlessUnreadable(rel, async () => (await this.databaseHash(rel, live)) === entry.sha256);
    }
    // A different size is different content, the same size and mtime the same (rsync's quick check); else read it.
    if (entry.size !== live.stat.size) return false;
    if (entry.mtimeMs === live.stat.mtimeMs) return true;
    this.hashed++;
    return this.unlessUnreadable(rel, async () => threadReader().hashFile(live.source).sha256 === entry.sha256);
  }

  /** A live file that vanished or cannot be read since the scan counts as changed, with a warning. */
  private async unlessUnreadable(rel: string, compare: () => Promise<boolean>): Promise<boolean> {
    try {
      return await compare();
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      this.warn(`${rel}: could not be read to compare (${why}); shown as changed`);
      return false;
    }
  }

  private async databaseHash(rel: string, live: ScannedEntry): Promise<string> {
    this.hashed++;
    this.scratch ??= this.makeScratch();
    const copy = path.join(this.scratch, `${this.hashed}.sqlite`);
    try {
      await backupDatabase(live.source, copy, rel);
      return threadReader().hashFile(copy).sha256;
    } finally {
      fs.rmSync(copy, { force: true });
    }
  }

  private makeScratch(): string {
    // Next to the bundles: private (0700) and on the clawback home's filesystem.
    fs.mkdirSync(this.sandboxDir, { recursive: true, mode: 0o700 });
    const dir = path.join(this.sandboxDir, `.diff-${this.pid}-${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  close(): void {
    if (this.scratch !== undefined) fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

