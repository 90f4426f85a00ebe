import fs from 'node:fs';
import path from 'node:path';
import { JournalError } from '../errors.js';
import { ensureDir, fsyncDir, writeJsonAtomic } from './atomic.js';
import { namesIn, removeTree } from './dirs.js';
import type { HomeLayout } from './home.js';
import type { LockHost } from './lock.js';
import { updateRegistry, type CustomPolicy, type SandboxEntry } from './registry.js';
import { isRecord } from '../records.js';

export const JOURNAL_VERSION = 1;

/**
 * staging: staged trees are being built, live is untouched.
 * swapping: renames may be under way; the commit point has not been reached.
 * committed: every staged tree is live; only the old trees are left to delete.
 */
export type JournalState = 'staging' | 'swapping' | 'committed';

/** One directory swapped as a whole: live → old, staged → live. */
export interface SwapPair {
  live: string;
  staged: string;
  old: string;
  liveExisted: boolean;
  /** Identity of the staged tree, recorded once it is built, so recovery knows a tree at `live` is ours. */
  stagedId?: { dev: number; ino: number };
}

/** Registry changes that belong to the restore's transaction. */
export interface JournalRegistryChange {
  /** A sandbox this restore registered (for --to a new name): removed again on roll back. */
  created?: SandboxEntry;
  /** Policy metadata from the bundle, written on commit. */
  policyPresets: string[];
  customPolicies: CustomPolicy[];
}

export interface JournalRecord {
  version: typeof JOURNAL_VERSION;
  sandbox: string;
  state: JournalState;
  /** The bundle being restored (its directory), for messages. */
  bundle: string;
  pairs: SwapPair[];
  registry: JournalRegistryChange;
  createdAt: string;
  /** The transport the trees were reached through (absent: this host); recovery goes through it too. */
  via?: string;
  /** A remote restore's marker file beside the state root, removed last. */
  marker?: string;
}

export interface JournalRecovery {
  sandbox: string;
  action: 'rolled-back' | 'rolled-forward';
  journal: string;
  warnings: string[];
}

export function journalPath(layout: HomeLayout, sandbox: string): string {
  return path.join(layout.journals, `${sandbox}.json`);
}

export function writeJournal(layout: HomeLayout, record: JournalRecord): void {
  ensureDir(layout.journals);
  writeJsonAtomic(journalPath(layout, record.sandbox), record);
}

export function removeJournal(layout: HomeLayout, sandbox: string): void {
  fs.rmSync(journalPath(layout, sandbox), { force: true });
  fsyncDir(layout.journals);
}


function parsePair(raw: unknown, file: string): SwapPair {
  if (!isRecord(raw)) throw new JournalError(file, 'a pair is not an object');
  const { live, staged, old, liveExisted, stagedId } = raw;
  if (typeof live !== 'string' || typeof staged !== 'string' || typeof old !== 'string' || typeof liveExisted !== 'boolean') {
    throw new JournalError(file, 'a pair lacks live, staged, old or liveExisted');
  }
  for (const p of [live, staged, old]) if (!path.isAbsolute(p)) throw new JournalError(file, `${p} is not an absolute path`);
  const pair: SwapPair = { live, staged, old, liveExisted };
  if (isRecord(stagedId) && typeof stagedId.dev === 'number' && typeof stagedId.ino === 'number') pair.stagedId = { dev: stagedId.dev, ino: stagedId.ino };
  return pair;
}

/** Reads a journal strictly: an unknown version or a damaged record is an error, never ignored. */
export function readJournal(file: string): JournalRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new JournalError(file, `not readable as JSON (${(error as Error).message})`);
  }
  if (!isRecord(raw)) throw new JournalError(file, 'not a JSON object');
  if (raw.version !== JOURNAL_VERSION) {
    throw new JournalError(file, `journal version ${JSON.stringify(raw.version)} is not supported (this clawback reads version ${JOURNAL_VERSION})`);
  }
  const { sandbox, state, pairs, bundle, createdAt, via, marker } = raw;
  if (typeof sandbox !== 'string' || (state !== 'staging' && state !== 'swapping' && state !== 'committed') || !Array.isArray(pairs)) {
    throw new JournalError(file, 'sandbox, state or pairs missing');
  }
  const registryRaw = isRecord(raw.registry) ? raw.registry : {};
  const registry: JournalRegistryChange = {
    policyPresets: Array.isArray(registryRaw.policyPresets) ? registryRaw.policyPresets.filter((p): p is string => typeof p === 'string') : [],
    customPolicies: Array.isArray(registryRaw.customPolicies)
      ? registryRaw.customPolicies.filter((p): p is CustomPolicy => isRecord(p) && typeof p.name === 'string' && typeof p.content === 'string')
      : [],
  };
  if (isRecord(registryRaw.created)) registry.created = registryRaw.created as unknown as SandboxEntry;
  return {
    version: JOURNAL_VERSION,
    sandbox,
    state,
    bundle: typeof bundle === 'string' ? bundle : '',
    pairs: pairs.map((p) => parsePair(p, file)),
    registry,
    createdAt: typeof createdAt === 'string' ? createdAt : '',
    ...(typeof via === 'string' ? { via } : {}),
    ...(typeof marker === 'string' ? { marker } : {}),
  };
}

function lstat(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
}

function renameDurably(from: string, to: string): void {
  fs.renameSync(from, to);
  fsyncDir(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) fsyncDir(path.dirname(from));
}

function isStagedTree(pair: SwapPair, stat: fs.Stats | undefined): boolean {
  return stat !== undefined && pair.stagedId !== undefined && stat.dev === pair.stagedId.dev && stat.ino === pair.stagedId.ino;
}

/**
 * Puts one pair back to its state before the restore. Idempotent, so a
 * recovery that is itself killed can run again. A tree at `live` is only
 * removed when it is provably the staged one (same inode as recorded).
 */
function rollBackPair(pair: SwapPair, state: JournalState, warnings: string[], stamp: string): void {
  if (state !== 'staging') {
    const live = lstat(pair.live);
    if (isStagedTree(pair, live) && !lstat(pair.staged)) renameDurably(pair.live, pair.staged);
    if (lstat(pair.old)) {
      if (lstat(pair.live)) {
        // Something we did not stage appeared at live (the agent recreated its dir?): keep it aside, never delete it.
        const aside = `${pair.live}.clawback-conflict-${stamp}`;
        renameDurably(pair.live, aside);
        warnings.push(`${pair.live} held files clawback did not write; moved to ${aside}`);
      }
      renameDurably(pair.old, pair.live);
    }
  }
  if (lstat(pair.staged)) removeTree(pair.staged);
}

function rollForwardPair(pair: SwapPair): void {
  removeTree(pair.old);
  removeTree(pair.staged);
}

/** Writes the bundle's policy metadata (and a registration made by this restore) into the registry. Idempotent. */
export function applyRegistryChange(layout: HomeLayout, host: LockHost, sandbox: string, change: JournalRegistryChange): void {
  updateRegistry(layout, host, (registry) => {
    const entry = registry.sandboxes[sandbox] ?? (change.created ? { ...change.created } : undefined);
    if (!entry) return;
    entry.policyPresets = [...change.policyPresets];
    entry.customPolicies = change.customPolicies.map((p) => ({ ...p }));
    registry.sandboxes[sandbox] = entry;
  });
}

function undoRegistration(layout: HomeLayout, host: LockHost, sandbox: string, change: JournalRegistryChange): void {
  const created = change.created;
  if (!created) return;
  updateRegistry(layout, host, (registry) => {
    const entry = registry.sandboxes[sandbox];
    if (entry && entry.createdAt === created.createdAt && entry.root === created.root) delete registry.sandboxes[sandbox];
  });
}

export function rollBack(layout: HomeLayout, host: LockHost, record: JournalRecord, stamp: string): string[] {
  const warnings: string[] = [];
  for (const pair of [...record.pairs].reverse()) rollBackPair(pair, record.state, warnings, stamp);
  finishRollBack(layout, host, record);
  return warnings;
}

/** The host's part of a roll back once the trees are back (here, or in a remote target): the registration undone, the journal gone. */
export function finishRollBack(layout: HomeLayout, host: LockHost, record: JournalRecord): void {
  undoRegistration(layout, host, record.sandbox, record.registry);
  removeJournal(layout, record.sandbox);
}

export function rollForward(layout: HomeLayout, host: LockHost, record: JournalRecord): void {
  applyRegistryChange(layout, host, record.sandbox, record.registry);
  for (const pair of record.pairs) rollForwardPair(pair);
  removeJournal(layout, record.sandbox);
}

/**
 * Finishes (committed) or undoes (before the commit point) one sandbox's
 * journal; the caller holds that sandbox's lock. `stamp` names where a tree
 * found in the way is moved aside.
 */
export function recoverJournal(layout: HomeLayout, host: LockHost, sandbox: string, stamp: string): JournalRecovery | undefined {
  const file = journalPath(layout, sandbox);
  if (!fs.existsSync(file)) return undefined;
  const record = readJournal(file);
  // A remote restore's trees are in its target: the engine settles it through the transport (restore/remote-recover.ts).
  if (record.via !== undefined) return undefined;
  if (record.state === 'committed') {
    rollForward(layout, host, record);
    return { sandbox, action: 'rolled-forward', journal: file, warnings: [] };
  }
  const warnings = rollBack(layout, host, record, stamp);
  return { sandbox, action: 'rolled-back', journal: file, warnings };
}

/** The sandboxes that have a record (`<sandbox>.json`) in `dir`: each an interrupted restore or rebuild, or one still running. */
export function recordSandboxes(dir: string): string[] {
  return namesIn(dir).filter((n) => !n.startsWith('.') && n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
}
