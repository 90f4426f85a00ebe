import { lockHost } from '../sandbox/lock.js';
import path from 'node:path';
import { asUserError, ClawbackError } from '../../errors.js';
import { ensureDir, syncTree } from '../../store/atomic.js';
import { readBundleManifest } from '../../store/bundles.js';
import { bundleTimestamp } from '../../store/home.js';
import { rollBack, writeJournal, type JournalRecord, type JournalRegistryChange } from '../../store/journal.js';
import { updateRegistry } from '../../store/registry.js';
import { syncfs } from '../../store/syncfs.js';
import { mismatch } from '../bundle/checked-read.js';
import type { EngineDeps } from '../deps.js';
import { rewriteStagedRegistry } from './qwenpaw-registry.js';
import { InterruptCheck } from './interrupt.js';
import { releaseGarbage } from './release-garbage.js';
import { HashJobList, startLiveHashing, type LiveHashing } from './live-hash.js';
import { restoreItems, settlePending, writeTotals, type RestoreItem, type RestorePlan } from './plan.js';
import { finishStage, stageCarried, stagedPathFor, stageFromBundle, stageMismatched, StageRun } from './stage.js';
import type { PreRestoreSnapshot, RestoreOutcome } from './summary.js';
import { assertSwappable, swapAndCommit } from './swap.js';
import { dirHasEntries, type RestoreTarget } from './target.js';

export interface ApplyInput {
  plan: RestorePlan;
  target: RestoreTarget;
  /** The bundle's directory, recorded in the journal. */
  bundleDir: string;
  policy: Pick<JournalRegistryChange, 'policyPresets' | 'customPolicies'>;
  /** Take a pre-restore snapshot first (when there is live state to keep and the restore changes it). */
  preRestore: boolean;
  /** The registry's policy metadata changes too. */
  policyChanges: boolean;
}

/** Whether the settled plan changes any live path; a restore that changes none needs no safety snapshot. */
function changesLiveState(plan: RestorePlan, input: ApplyInput): boolean {
  return input.policyChanges || input.target.create !== undefined || plan.changes.some((c) => c.action !== 'unchanged' && c.action !== 'kept');
}

/** Live files that may already hold the snapshot's bytes, and the databases SQLite reads from the bundle: hashed beside staging. */
interface LiveChecks {
  candidates: Array<RestoreItem & { linkCandidate: string }>;
  databases: RestoreItem[];
  hashing: LiveHashing;
}

/** Bundle bytes the main thread stages while the live files are hashed, below which they are hashed here after staging. */
const OVERLAP_MIN_BYTES = 32 * 1024 * 1024;

function startLiveChecks(plan: RestorePlan): LiveChecks {
  const candidates: Array<RestoreItem & { linkCandidate: string }> = [];
  const databases: RestoreItem[] = [];
  // Bundle bytes this thread stages. One pass, no intermediate arrays: on a large home these run to
  // tens of thousands of entries, and were promoted to old space before they were let go.
  let staged = 0;
  for (const i of restoreItems(plan.units)) {
    if (i.linkCandidate !== undefined) candidates.push(i as RestoreItem & { linkCandidate: string });
    else if (i.entry.type === 'file') staged += i.entry.size ?? 0;
    if (i.entry.strategy === 'sqlite_backup') databases.push(i);
  }
  // Added one at a time to columns: 40,000 job objects cost megabytes here and again in the worker.
  const jobs = new HashJobList();
  for (const i of candidates) jobs.add({ path: i.linkCandidate, size: i.entry.size ?? -1, sha256: i.entry.sha256 ?? '', live: { mode: i.mode, mtimeMs: i.entry.mtimeMs ?? -1 } });
  for (const i of databases) jobs.add({ path: i.source, size: i.entry.size ?? -1, sha256: i.entry.sha256 ?? '' });
  // A worker only pays when this thread has bundle files to stage meanwhile; otherwise it would wait
  // for it, and the worker's heap (tens of MiB) would be all it added.
  const hashing = startLiveHashing(jobs, { worker: staged >= OVERLAP_MIN_BYTES });
  return { candidates, databases, hashing };
}

/** The link candidates whose bytes match the manifest; a database copy that does not is a damaged bundle. */
async function verifiedLiveFiles(checks: LiveChecks): Promise<Set<string>> {
  const matches = await checks.hashing.results();
  const badDatabase = checks.databases.find((_, i) => matches[checks.candidates.length + i] !== 1);
  if (badDatabase) throw mismatch(badDatabase.entry);
  return new Set(checks.candidates.filter((_, i) => matches[i] === 1).map((c) => c.linkCandidate));
}

/** Writes the restore's journal before anything is staged; a restore through a transport adds its `via` and target marker. */
export function openJournal(input: ApplyInput, stamp: string, deps: EngineDeps, remote: Pick<JournalRecord, 'via' | 'marker'> = {}): JournalRecord {
  const { plan, target } = input;
  const journal: JournalRecord = {
    version: 1,
    sandbox: target.name,
    state: 'staging',
    bundle: input.bundleDir,
    pairs: plan.units.map((unit) => ({ live: unit.dir, ...stagedPathFor(unit.dir, stamp), liveExisted: unit.exists })),
    registry: { ...input.policy, ...(target.create ? { created: target.create } : {}) },
    createdAt: deps.now().toISOString(),
    ...remote,
  };
  writeJournal(deps.layout, journal);
  return journal;
}

/**
 * Stages the plan beside the live trees under a journal, takes the
 * pre-restore snapshot, then swaps. Returns the plan settled (every pending
 * path now unchanged or replaced) and what staging found. Anything failing
 * before the swap rolls back and is rethrown.
 */
export async function applyPlan(input: ApplyInput, deps: EngineDeps): Promise<{ plan: RestorePlan; outcome: RestoreOutcome }> {
  let plan = input.plan;
  for (const unit of plan.units) assertSwappable(unit.dir, unit.exists);
  const checks = startLiveChecks(plan);
  // Planning's dead objects are let go before staging (and its database restores) adds to the hash worker's memory.
  releaseGarbage();
  const stamp = bundleTimestamp(deps.now());
  const journal = openJournal(input, stamp, deps);
  const staged = (i: number): string => journal.pairs[i]!.staged;
  const copies = restoreItems(plan.units).filter((i) => i.entry.type === 'file' && !i.linkCandidate).length;
  const interrupt = new InterruptCheck(deps, input.target.name);
  const run = new StageRun(deps, Math.max(1, Math.floor(copies / 2)), interrupt);
  // A hash worker holds a core while the bundle's files are staged: staging leaves it to it rather
  // than add a worker (and its memory) that would only share the cores.
  run.reserved = checks.hashing.mode === 'worker' ? 1 : 0;
  const rewriteWarnings: string[] = [];
  let preRestore: PreRestoreSnapshot | null = null;
  try {
    if (input.target.create) registerTarget(input.target.create, deps);
    deps.events.phase?.('restore', writeTotals(plan));
    for (const [i, unit] of plan.units.entries()) {
      ensureDir(path.dirname(unit.dir));
      await stageFromBundle(unit, staged(i), run);
    }
    const verifiedLive = await interrupt.unlessInterrupted(verifiedLiveFiles(checks));
    run.reserved = 0;
    // Staging's dead objects too, before the carried trees' workers add theirs.
    releaseGarbage();
    for (const [i, unit] of plan.units.entries()) await stageMismatched(unit, staged(i), run, verifiedLive);
    plan = settlePending(plan, new Set(checks.candidates.filter((c) => verifiedLive.has(c.linkCandidate)).map((c) => c.entry.path)));
    // Every bundle file the restore needs has now been read and checked against the manifest.
    deps.fault?.('restore:staged');

    if (input.preRestore && changesLiveState(plan, input) && plan.units.some((u) => u.exists && dirHasEntries(u.dir))) {
      deps.events.phase?.('pre-restore snapshot');
      interrupt.check();
      preRestore = await takePreRestoreSnapshot(input.target.name, stamp, deps, rewriteWarnings);
      deps.events.phase?.('restore', writeTotals(plan));
    }

    for (const [i, unit] of plan.units.entries()) {
      await stageCarried(unit, staged(i), run, verifiedLive);
      if (plan.agentRegistry) rewriteStagedRegistry(plan.agentRegistry, unit, staged(i), rewriteWarnings);
      finishStage(unit, staged(i));
      syncTree(staged(i), syncfs);
    }
    deps.fault?.('restore:carried');
    // The last moment a Ctrl-C can still undo everything; from the swap's commit point on, the restore finishes.
    await interrupt.breathe(true);
  } catch (error) {
    checks.hashing.cancel();
    rollBack(deps.layout, lockHost(deps), journal, stamp);
    // Rolled back: the live state is as it was, so a full disk here changed nothing (exit 5).
    throw asUserError(error, path.dirname(journal.pairs[0]?.live ?? deps.layout.home), { nothingWritten: true });
  }

  deps.events.phase?.('swap');
  // The carried trees are the bulk of an old tree: they are removed in parallel.
  const heavy = plan.units.map((unit) => unit.items.flatMap((i) => (i.kind === 'tree' ? [{ rel: i.rel, entries: i.tree.length }] : [])));
  await swapAndCommit(journal, deps, heavy);
  if (interrupt.aborted) rewriteWarnings.push('interrupted after the restore was committed: it was finished, not undone');
  return { plan, outcome: { merges: run.merges, preRestore, warnings: [...rewriteWarnings, ...run.warnings] } };
}

function registerTarget(entry: NonNullable<RestoreTarget['create']>, deps: EngineDeps): void {
  updateRegistry(deps.layout, lockHost(deps), (registry) => {
    registry.sandboxes[entry.name] = { ...entry };
  });
}

/** The safety snapshot; what it could not read (it says so in `warnings`) the plan keeps as it is, never deletes. */
export async function takePreRestoreSnapshot(sandbox: string, stamp: string, deps: EngineDeps, warnings: string[]): Promise<PreRestoreSnapshot> {
  const label = `pre-restore-${stamp}`;
  try {
    // Loaded only when a safety snapshot is taken: the capture engine is megabytes of code a restore with nothing to save never runs.
    const { createSnapshotLocked } = await import('../capture/create.js');
    const summary = await createSnapshotLocked({ sandbox, label, scope: {} }, deps);
    if (summary.incomplete) {
      const unsaved = readBundleManifest(summary.dir).failedBackupDirs;
      warnings.push(`the pre-restore snapshot could not save ${unsaved.length} unreadable path(s): ${unsaved.join(', ')}; the restore keeps them as they are`);
    }
    return { selector: label, shortId: summary.shortId, timestamp: summary.timestamp, dir: summary.dir, undo: `clawback ${sandbox} snapshot restore ${label}` };
  } catch (error) {
    if (!(error instanceof ClawbackError)) throw error;
    throw new ClawbackError(error.code, error.exitCode, `the pre-restore snapshot of ${sandbox} failed, so nothing was restored: ${error.message}`, {
      hint: error.hint ?? 'fix the cause, or pass --no-pre-restore to restore without a safety snapshot',
      details: error.details,
      cause: error,
    });
  }
}
