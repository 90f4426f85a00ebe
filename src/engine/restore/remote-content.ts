import fs from 'node:fs';
import { posix } from 'node:path';
import { fsPath } from '../../fs-safety/fs-path.js';
import { sha256Hex, threadReader } from '../../fs-safety/file-reader.js';
import type { TarWriteEntry } from '../../formats/tar-write.js';
import { restoreDatabase } from '../../sqlite/backup.js';
import { checkVerified, readForArchive, readVerified } from '../bundle/checked-read.js';
import { configHashText } from '../config-merge/index.js';
import type { CarryItem, PlanUnit, RestoreItem } from './plan.js';
import type { RemoteLiveView } from './remote-live.js';
import { mergeWithLive, type StageRun } from './stage.js';

/** A regular file the tar stream carries, with what the target must find at its staged path. */
export interface ShippedFile {
  remote: string;
  sha256: string;
  size: number;
  /** A database: checked with SQLite in the target where it has one. */
  database?: boolean;
}

/** A live entry the target links (or copies) into the staged tree itself: it never crosses the wire. */
export interface LinkInTarget {
  from: string;
  to: string;
}

/** What the host ships into one unit's staged directory, and what the target does itself. */
export interface UnitContent {
  shipped: ShippedFile[];
  links: LinkInTarget[];
  /** Directories of the staged tree with their final modes, deepest first (set after everything is in). */
  modes: Array<{ path: string; mode: number }>;
  /** rel → type of everything the staged tree holds once built, for the final check. */
  expected: Map<string, 'dir' | 'file' | 'symlink' | 'special'>;
}

export interface ContentContext {
  live: RemoteLiveView;
  run: StageRun;
  /** Live files already holding the snapshot's bytes (sha256 checked in the target): linked, not sent. */
  verifiedLive: ReadonlySet<string>;
  /** A private host directory for databases prepared through SQLite. */
  scratch: string;
  now: number;
}

/** Tar entry names are relative: the staged path without its leading '/', extracted with `-C /`. */
function tarName(stageDir: string, rel: string): string {
  return `${stageDir}/${rel}`.replace(/^\/+/, '');
}

/** An empty record of a unit's content, filled in as unitEntries is read. */
export function newUnitContent(): UnitContent {
  return { shipped: [], links: [], modes: [], expected: new Map() };
}

/**
 * The restored files of one unit as tar entries, computed on the host as the stream is read: bundle
 * copies (checked against the manifest as they are read), config merges against the live text
 * fetched from the target, the files that follow a restored config, and databases restored through
 * SQLite into a host scratch file (a self-contained file in the journal mode the live database had).
 * Carried live files, and live files that already hold the snapshot's bytes, are only recorded in
 * `content.links`: the target links them itself.
 */
export async function* unitEntries(unit: PlanUnit, stageDir: string, context: ContentContext, content: UnitContent): AsyncGenerator<TarWriteEntry> {
  const configs = mergedConfigs(unit, context);
  const pending: TarWriteEntry[] = [];
  const ship: Ship = (rel, data, mode, mtime, sha256, size, database) => {
    pending.push({ name: tarName(stageDir, rel), type: 'file', mode, mtime, ...data });
    content.shipped.push({ remote: `${stageDir}/${rel}`, sha256, size, ...(database ? { database } : {}) });
    content.expected.set(rel, 'file');
  };
  for (const item of unit.items) {
    // Lets a Ctrl-C in: thrown here, it stops the stream and the restore rolls back.
    await context.run.breathe();
    if (item.kind === 'dir') {
      yield { name: tarName(stageDir, item.rel), type: 'directory', mode: 0o700, mtime: context.now };
      content.modes.unshift({ path: `${stageDir}/${item.rel}`, mode: item.mode });
      content.expected.set(item.rel, 'dir');
    } else if (item.kind === 'carry') {
      carried(item, stageDir, content, context, configs, ship, pending);
    } else if (item.kind === 'tree') {
      // A caller's mistake: only a local restore plans carried trees (PlanInput.compactCarry).
      throw new Error('a remote restore has no carried trees');
    } else if (item.entry.type === 'symlink') {
      yield { name: tarName(stageDir, item.rel), type: 'symlink', mode: 0o777, mtime: item.entry.mtimeMs ?? context.now, linkTarget: item.entry.target! };
      content.expected.set(item.rel, 'symlink');
    } else if (item.linkCandidate !== undefined && context.verifiedLive.has(item.linkCandidate)) {
      content.links.push({ from: item.linkCandidate, to: `${stageDir}/${item.rel}` });
      content.expected.set(item.rel, 'file');
    } else {
      await restored(item, configs, context, ship);
    }
    yield* pending.splice(0);
  }
  content.modes.push({ path: stageDir, mode: unit.rootMode });
}

type Ship = (rel: string, data: { buffer: Buffer } | { file: string }, mode: number, mtime: number, sha256: string, size: number, database?: boolean) => void;

/** Every merged config of the unit: its restored bytes, by payload path (only rewritten ones differ from the snapshot). */
function mergedConfigs(unit: PlanUnit, context: ContentContext): Map<string, Buffer> {
  const configs = new Map<string, Buffer>();
  for (const item of unit.items) {
    if (item.kind !== 'restore' || item.entry.type !== 'file' || !item.merge) continue;
    const snapshot = Buffer.from(readVerified(item.source, item.entry));
    if (!item.mergeLive) {
      configs.set(item.entry.path, snapshot);
      continue;
    }
    const { text } = mergeWithLive(item, snapshot.toString('utf8'), context.live.texts.get(item.mergeLive), context.run);
    configs.set(item.entry.path, Buffer.from(text, 'utf8'));
  }
  return configs;
}

async function restored(item: RestoreItem, configs: ReadonlyMap<string, Buffer>, context: ContentContext, ship: Ship): Promise<void> {
  const entry = item.entry;
  const mtime = entry.mtimeMs ?? context.now;
  if (entry.strategy === 'sqlite_backup') {
    checkVerified(item.source, entry);
    const prepared = `${context.scratch}/${sha256Hex(Buffer.from(entry.path)).slice(0, 24)}.sqlite`;
    await restoreDatabase(item.source, prepared, entry.journalMode, entry.path);
    const bytes = fs.readFileSync(fsPath(prepared));
    fs.rmSync(prepared, { force: true });
    ship(item.rel, { buffer: bytes }, item.mode, mtime, sha256Hex(bytes), bytes.length, true);
  } else if (item.follows) {
    const text = followerText(item, configs, context);
    if (text) ship(item.rel, { buffer: text }, item.mode, text.exact ? mtime : context.now, sha256Hex(text), text.length);
  } else if (item.merge) {
    const bytes = configs.get(entry.path)!;
    const exact = !context.run.rewrittenConfigs.has(entry.path);
    ship(item.rel, { buffer: bytes }, item.mode, exact ? mtime : context.now, sha256Hex(bytes), bytes.length);
  } else {
    // A small file is a view of the reader's buffer: copied now, since the next read reuses it.
    const data = readForArchive(item.source, entry, threadReader());
    ship(item.rel, 'buffer' in data ? { buffer: Buffer.from(data.buffer) } : data, item.mode, mtime, entry.sha256 ?? '', entry.size ?? 0);
  }
  context.run.tick(entry.size ?? 0, entry.path);
}

function carried(item: CarryItem, stageDir: string, content: UnitContent, context: ContentContext, configs: ReadonlyMap<string, Buffer>, ship: Ship, out: TarWriteEntry[]): void {
  if (item.follows) {
    const text = followerText(item, configs, context);
    const mode = context.live.lstat(item.live.path)?.mode ?? 0o600;
    if (text) ship(item.rel, { buffer: text }, mode, context.now, sha256Hex(text), text.length);
    return;
  }
  if (item.live.type === 'symlink') {
    out.push({ name: tarName(stageDir, item.rel), type: 'symlink', mode: 0o777, mtime: item.live.mtimeMs || context.now, linkTarget: item.live.target! });
    content.expected.set(item.rel, 'symlink');
    return;
  }
  content.links.push({ from: item.live.path, to: `${stageDir}/${item.rel}` });
  content.expected.set(item.rel, item.live.type);
}

/**
 * A file that follows a restored OpenClaw config (see stage-follow.ts): the snapshot's own copy when
 * the config is restored as the snapshot has it, else written from the config's restored bytes.
 */
function followerText(item: (RestoreItem | CarryItem) & { follows?: RestoreItem['follows'] }, configs: ReadonlyMap<string, Buffer>, context: ContentContext): (Buffer & { exact?: boolean }) | undefined {
  const follows = item.follows!;
  if (item.kind === 'restore' && !context.run.rewrittenConfigs.has(follows.path)) {
    return Object.assign(Buffer.from(readVerified(item.source, item.entry)), { exact: true });
  }
  const config = configs.get(follows.path);
  if (config === undefined) return undefined;
  if (follows.role === 'last-good') return Buffer.from(config);
  const current = item.kind === 'restore' ? readVerified(item.source, item.entry).toString('utf8') : context.live.texts.get(item.live.path);
  if (current === undefined) return undefined;
  return Buffer.from(configHashText(current, posix.basename(follows.path), config), 'utf8');
}

/** The live texts staging reads that planning did not: merged configs and the `.config-hash` files that follow them. */
export function textsToFetch(units: readonly PlanUnit[], live: RemoteLiveView): string[] {
  const wanted = new Set<string>();
  for (const unit of units) {
    for (const item of unit.items) {
      if (item.kind === 'restore' && item.mergeLive) wanted.add(item.mergeLive);
      if (item.kind === 'carry' && item.follows?.role === 'config-hash') wanted.add(item.live.path);
    }
  }
  return [...wanted].filter((f) => !live.texts.has(f));
}
