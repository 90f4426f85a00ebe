import fs from 'node:fs';
import path from 'node:path';
import { BusyError, IntegrityError } from '../../errors.js';
import { ensureDir, fsyncDir, writeJsonAtomic } from '../../store/atomic.js';
import type { HomeLayout } from '../../store/home.js';
import { removeTree } from '../../store/dirs.js';
import { acquireLock } from '../../store/lock.js';
import type { EngineDeps, HostFacts } from '../deps.js';
import { isRecord } from '../../records.js';

export const REBUILD_RECORD_VERSION = 1;

/**
 * moved: the old root is (or is about to be) at `aside`; anything at `root` is the rebuild's own
 * output, so recovery removes it and moves the old root back.
 * committed: the rebuilt state is live and started; only `aside` is left to delete.
 */
export type RebuildState = 'moved' | 'committed';

export interface RebuildRecord {
  version: typeof REBUILD_RECORD_VERSION;
  sandbox: string;
  state: RebuildState;
  root: string;
  aside: string;
  snapshot: { dir: string; timestamp: string; label: string };
  /** The rebuilding process: a record whose process is still alive on this host is a rebuild in progress. */
  pid: number;
  /**
   * The recreate hook's process group while it may still run (cleared once the group is empty). A
   * SIGKILL of rebuild orphans it, so recovery stops the group before it puts the old root back.
   */
  hookGroup?: number;
  host: string;
  createdAt: string;
  /** The transport of a remote sandbox: `root` and `aside` are paths in its target, moved there (remote-root.ts). */
  via?: string;
}

export interface RebuildRecovery {
  sandbox: string;
  action: 'rolled-back' | 'completed';
  record: RebuildRecord;
}

/** Kept apart from the restore journals (`<home>/journal/<sandbox>.json`), which their recovery reads by name. */
export function rebuildRecordDir(layout: HomeLayout): string {
  return path.join(layout.journals, 'rebuild');
}

function recordPath(layout: HomeLayout, sandbox: string): string {
  return path.join(rebuildRecordDir(layout), `${sandbox}.json`);
}

export function writeRebuildRecord(layout: HomeLayout, record: RebuildRecord): void {
  ensureDir(rebuildRecordDir(layout));
  writeJsonAtomic(recordPath(layout, record.sandbox), record);
}

export function removeRebuildRecord(layout: HomeLayout, sandbox: string): void {
  fs.rmSync(recordPath(layout, sandbox), { force: true });
  fsyncDir(rebuildRecordDir(layout));
}


export function readRebuildRecord(file: string): RebuildRecord {
  const fail = (problem: string): IntegrityError =>
    new IntegrityError('rebuild-record-unreadable', `${file}: ${problem}`, {
      hint: 'an interrupted rebuild left this record; check the root and the `.clawback-rebuild-*` directory beside it, then move the record away',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw fail(`not readable as JSON (${(error as Error).message})`);
  }
  if (!isRecord(raw)) throw fail('not a JSON object');
  if (raw.version !== REBUILD_RECORD_VERSION) throw fail(`record version ${JSON.stringify(raw.version)} is not supported (this clawback reads version ${REBUILD_RECORD_VERSION})`);
  const { sandbox, state, root, aside, snapshot, pid, host, createdAt, hookGroup, via } = raw;
  if (typeof sandbox !== 'string' || (state !== 'moved' && state !== 'committed') || typeof root !== 'string' || typeof aside !== 'string' || !isRecord(snapshot)) {
    throw fail('sandbox, state, root, aside or snapshot missing');
  }
  if (!path.isAbsolute(root) || path.dirname(aside) !== path.dirname(root) || !path.basename(aside).startsWith(`${path.basename(root)}.clawback-rebuild-`)) {
    throw fail(`${aside} is not a rebuild sibling of ${root}`);
  }
  const str = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    version: REBUILD_RECORD_VERSION,
    sandbox,
    state,
    root,
    aside,
    snapshot: { dir: str(snapshot.dir), timestamp: str(snapshot.timestamp), label: str(snapshot.label) },
    pid: typeof pid === 'number' ? pid : 0,
    host: str(host),
    createdAt: str(createdAt),
    ...(typeof hookGroup === 'number' && Number.isSafeInteger(hookGroup) && hookGroup > 1 ? { hookGroup } : {}),
    ...(typeof via === 'string' && via !== 'local' ? { via } : {}),
  };
}

/** True while the process that wrote the record still runs on this host (then it is not ours to recover). */
function inProgress(record: RebuildRecord, host: HostFacts): boolean {
  if (record.host !== host.hostname || record.pid === host.pid || record.pid <= 0) return false;
  return host.isAlive(record.pid);
}

function exists(p: string): boolean {
  return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/**
 * Puts the old root back: whatever the recreate hook and the restore left at the root is removed,
 * then the moved-aside root is renamed back. Idempotent, so a recovery that is itself killed can
 * run again. When the root was never moved (`aside` absent), nothing at the root is touched.
 */
export function putOldRootBack(record: RebuildRecord): void {
  if (!exists(record.aside)) return;
  if (exists(record.root)) removeTree(record.root);
  fs.renameSync(record.aside, record.root);
  fsyncDir(path.dirname(record.root));
}

export function finishCommitted(record: RebuildRecord): void {
  if (exists(record.aside)) removeTree(record.aside);
  fsyncDir(path.dirname(record.root));
}

/** The sandbox's interrupted rebuild record, if any; a BusyError while the rebuild that wrote it still runs. */
export function pendingRebuild(deps: EngineDeps, sandbox: string): RebuildRecord | undefined {
  const file = recordPath(deps.layout, sandbox);
  if (!fs.existsSync(file)) return undefined;
  const record = readRebuildRecord(file);
  if (inProgress(record, deps.host)) {
    throw new BusyError(`a rebuild of ${sandbox} by pid ${record.pid} is in progress`, { hint: 'wait for it to finish' });
  }
  return record;
}

/**
 * Finishes (committed) or rolls back (moved) one sandbox's interrupted rebuild; the caller holds its
 * lock. A record whose process is still alive is a rebuild in progress: BusyError.
 */
export function recoverRebuild(deps: EngineDeps, sandbox: string): RebuildRecovery | undefined {
  const record = pendingRebuild(deps, sandbox);
  // A remote rebuild's paths are in its target (recoverRemoteRebuild): never touch a local path of the same name.
  if (record === undefined || record.via !== undefined) return undefined;
  if (record.state === 'committed') finishCommitted(record);
  else {
    stopRecreateHook(record, deps);
    putOldRootBack(record);
  }
  removeRebuildRecord(deps.layout, sandbox);
  return { sandbox, action: record.state === 'committed' ? 'completed' : 'rolled-back', record };
}

const HOOK_TERM_GRACE_MS = 3_000;
const HOOK_KILL_WAIT_MS = 2_000;

/**
 * Stops the recreate hook an interrupted rebuild left running (its own process group): SIGTERM,
 * then SIGKILL, through the host. Putting the old root back while the hook still writes at the root
 * would let it write into the user's state, so a group that will not stop is a BusyError and the
 * old root stays aside until the next command.
 */
export function stopRecreateHook(record: RebuildRecord, deps: EngineDeps): void {
  const group = record.hookGroup;
  if (group === undefined || !deps.host.groupAlive(group)) return;
  const { warning } = deps.events;
  for (const [signal, waitMs] of [['SIGTERM', HOOK_TERM_GRACE_MS], ['SIGKILL', HOOK_KILL_WAIT_MS]] as const) {
    try {
      deps.host.signalGroup(group, signal);
    } catch (error) {
      warning?.(`could not signal process group ${group} (${(error as Error).message})`);
      break;
    }
    if (waitForGroupExit(group, waitMs, deps)) {
      warning?.(`stopped the recreate hook of ${record.sandbox} (process group ${group}) that an interrupted rebuild left running`);
      return;
    }
  }
  const message = `the recreate hook of ${record.sandbox} (process group ${group}) that an interrupted rebuild left running could not be stopped, so its rebuild is not rolled back yet`;
  warning?.(message);
  throw new BusyError(message, { hint: `stop it (kill -KILL -- -${group}) and run clawback again; the original state waits at ${record.aside}` });
}

function waitForGroupExit(group: number, waitMs: number, deps: EngineDeps): boolean {
  const deadline = deps.clock() + waitMs;
  while (deps.host.groupAlive(group)) {
    if (deps.clock() >= deadline) return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
  return true;
}

export function recoveryMessage(outcome: RebuildRecovery): string {
  const { record } = outcome;
  return outcome.action === 'completed'
    ? `an interrupted rebuild of ${record.sandbox} was completed (the rebuilt state is live; ${record.aside} removed)`
    : `an interrupted rebuild of ${record.sandbox} was rolled back: the original state is back at ${record.root}; the agent may still be stopped; the snapshot taken before it is ${record.snapshot.dir}`;
}
