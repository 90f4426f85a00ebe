import { LOCAL_LIVE_VIEW } from './live-view.js';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { asUserError, errnoCode, InterruptedError, RefusedError } from '../../errors.js';
import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import { ensureDir, fsyncDir, syncTree } from '../../store/atomic.js';
import { removeTree } from '../../store/dirs.js';
import { getSandbox } from '../../store/registry.js';
import { syncfs } from '../../store/syncfs.js';
import { checkVerified } from '../bundle/checked-read.js';
import { restoredMode } from '../bundle/restored-mode.js';
import type { EngineDeps } from '../deps.js';
import { Selection } from '../sandbox/selection.js';
import { InterruptCheck } from './interrupt.js';
import { planRestore, restoreItems, writeTotals, type PlanItem, type PlanUnit } from './plan.js';
import { assertPathsSelected, restoreScope } from './scope.js';
import { loadSource, needOf } from './source.js';
import { finishStage, stageFromBundle, StageRun, verifyPlanned } from './stage.js';

export interface ToDirRequest {
  sandbox: string;
  /** Default `latest`. */
  selector?: string;
  /** Absolute: the directory to create (it must not exist, or be empty). */
  dir: string;
  only?: string[];
  agents?: string[];
  /** `--path`: only these snapshot paths (globs), each with everything below it. */
  paths?: string[];
  dryRun?: boolean;
}

export interface ToDirSummary {
  sandbox: string;
  dryRun: boolean;
  bundle: { id: string; timestamp: string; name: string | null; version: number | null; dir: string };
  dir: string;
  counts: { files: number; dirs: number; symlinks: number; bytes: number };
  /** Snapshot paths of the files and symlinks written: all of them in a dry run, the first few otherwise. */
  paths: string[];
  databases: string[];
  warnings: string[];
  durationMs: number;
}

const LISTED = 20;

/**
 * Materialises a snapshot, or part of it, into a plain directory (README "Restore", `--to-dir`): the
 * files as captured (no config merges), databases through SQLite's backup API, every file checked
 * against the manifest. Nothing is registered and no pre-restore snapshot is taken: no live state
 * changes. The tree is built in `<dir>.partial-<random>` beside it and renamed into place, so `dir`
 * either does not appear or appears whole.
 */
export async function restoreToDir(request: ToDirRequest, deps: EngineDeps): Promise<ToDirSummary> {
  const started = deps.clock();
  const target = path.resolve(request.dir);
  assertFreeTarget(target);
  const entry = getSandbox(deps.layout, request.sandbox);
  const { record, bundle, agentManifest } = loadSource(request.sandbox, request.selector ?? 'latest', needOf(request), { name: request.sandbox, entry }, deps);
  const selection = new Selection(agentManifest, bundle.mounts, restoreScope(bundle, request));
  assertPathsSelected(bundle, selection, request);
  // One unit at the payload's root: every mount's content lands at its payload path.
  const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
  const mounts = [{ prefix: '', dir: partial, inBundle: true, placedNew: false }];
  const plan = planRestore({ bundle, payloadDir: record.payloadDir, mounts, selection, agentManifest, home: deps.layout.home, statLive: false, live: LOCAL_LIVE_VIEW });
  const unit = withCapturedDirModes(plan.units[0]!, bundle, selection);
  const run = new StageRun(deps, Number.POSITIVE_INFINITY, new InterruptCheck(deps, target));
  deps.events.phase?.(request.dryRun ? 'verify' : 'restore', writeTotals(plan));
  if (request.dryRun) verifyPlanned(unit, run);
  else await stageAndPublish(unit, target, run, deps);
  const written = restoreItems([unit]);
  const files = written.filter((i) => i.entry.type === 'file');
  const listed = written.map((i) => i.entry.path).sort();
  return {
    sandbox: request.sandbox,
    dryRun: request.dryRun === true,
    bundle: { id: record.id, timestamp: record.timestamp, name: bundle.name, version: record.version ?? null, dir: record.dir },
    dir: target,
    counts: {
      files: files.length,
      dirs: unit.items.filter((i) => i.kind === 'dir').length,
      symlinks: written.length - files.length,
      bytes: files.reduce((sum, i) => sum + (i.entry.size ?? 0), 0),
    },
    paths: request.dryRun ? listed : listed.slice(0, LISTED),
    databases: files.filter((i) => i.entry.strategy === 'sqlite_backup').map((i) => i.entry.path).sort(),
    warnings: [...plan.warnings, ...run.warnings],
    durationMs: deps.clock() - started,
  };
}

/** A directory with anything in it is never written into: what is there would mix with the snapshot's files. */
function assertFreeTarget(target: string): void {
  const stat = fs.lstatSync(target, { throwIfNoEntry: false });
  if (stat === undefined) return;
  if (!stat.isDirectory()) {
    throw new RefusedError('target-not-empty', `${target} exists and is not a directory`, { hint: 'name a directory that does not exist yet (it is created)' });
  }
  if (fs.readdirSync(target).length > 0) {
    throw new RefusedError('target-not-empty', `${target} is not empty; --to-dir writes only into a new or empty directory`, {
      hint: 'name a directory that does not exist yet (it is created), or empty this one first',
    });
  }
}

/** Ancestors the plan had to create (a --path below them) get the snapshot's mode for them, not a default. */
function withCapturedDirModes(unit: PlanUnit, bundle: BundleManifest, selection: Selection): PlanUnit {
  const dirs = new Map(bundle.entries.filter((e) => e.type === 'dir').map((e) => [e.path, e]));
  const items = unit.items.map((item): PlanItem => {
    if (item.kind !== 'dir' || item.origin !== 'implicit') return item;
    const entry = dirs.get(item.rel);
    return entry ? { ...item, mode: restoredMode(entry, selection.isSecretModule(selection.moduleOf(entry.path).module)) } : item;
  });
  return { ...unit, items };
}

/** Stage beside the target, check what SQLite read, make it durable, rename it into place; on any failure nothing is left. */
async function stageAndPublish(unit: PlanUnit, target: string, run: StageRun, deps: EngineDeps): Promise<void> {
  ensureDir(path.dirname(unit.dir));
  try {
    await stageFromBundle(unit, unit.dir, run);
    // SQLite read the bundle's copies: their sha256 is checked here, as a restore's hash jobs do.
    for (const item of restoreItems([unit])) if (item.entry.strategy === 'sqlite_backup') checkVerified(item.source, item.entry);
    finishStage(unit, unit.dir);
    syncTree(unit.dir, syncfs);
    deps.fault?.('to-dir:staged');
    await run.breathe();
    publish(unit.dir, target);
  } catch (error) {
    removeTree(unit.dir);
    if (error instanceof InterruptedError) throw new InterruptedError(`interrupted: nothing was written to ${target}`);
    throw asUserError(error, path.dirname(target), { nothingWritten: true });
  }
}

function publish(staged: string, target: string): void {
  try {
    fs.renameSync(staged, target);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    throw new RefusedError('target-not-empty', `${target} was filled while the snapshot was written beside it; nothing was written to it`, {
      hint: 'name a directory that does not exist yet (it is created)',
    });
  }
  fsyncDir(path.dirname(target));
}
