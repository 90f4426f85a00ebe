import path from 'node:path';
import { ClawbackError, IntegrityError, RefusedError, UsageError } from '../../errors.js';
import { assertContentChecksum, MANIFEST_FILE, type BundleManifest } from '../../manifest/bundle-manifest.js';
import { ensureDir, syncTree } from '../../store/atomic.js';
import { bundlePayloadDir, readBundleManifest } from '../../store/bundles.js';
import { bundleTimestamp } from '../../store/home.js';
import { recoverJournal, rollBack, writeJournal, type JournalRecord } from '../../store/journal.js';
import { acquireLocks, type Lock } from '../../store/lock.js';
import { updateRegistry } from '../../store/registry.js';
import { syncfs } from '../../store/syncfs.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { Selection, type ScopeOptions } from '../sandbox/selection.js';
import { createSnapshotLocked } from '../capture/create.js';
import { findSnapshot } from '../bundle/find.js';
import { startLiveHashing, type LiveHashJob } from './live-hash.js';
import { prepareQwenPawRestore } from '../qwenpaw/restore-rewrite.js';
import { mapMounts } from './mounts.js';
import { planRestore, type KeepReason, type RestorePlan } from './plan.js';
import { diffPolicies, type PolicyChange } from './policy.js';
import { finishStage, stageCarried, stagedPathFor, stageFromBundle, stageMismatched, StageRun, verifyPlanned, type MergeOutcome } from './stage.js';
import { assertSwappable, swapAndCommit } from './swap.js';
import { mismatch } from '../bundle/checked-read.js';
import { dirHasEntries, resolveTarget, restoreConfirmation, type RestoreTarget } from './target.js';

export { restoreConfirmation, type Confirmation } from './target.js';

export interface RestoreRequest {
  sandbox: string;
  /** Default `latest`. */
  selector?: string;
  /** Restore into another sandbox (registered here when unknown). */
  to?: string;
  /** Root of a sandbox that `to` registers (default `<home>/sandboxes/<to>`). */
  toRoot?: string;
  force?: boolean;
  /** The user answered the question restoreConfirmation asked (or passed --yes). */
  confirmed?: boolean;
  dryRun?: boolean;
  only?: string[];
  agents?: string[];
  newAgentRoot?: string;
  noPreRestore?: boolean;
}

export interface PlanCounts {
  replaced: number;
  unchanged: number;
  added: number;
  removed: number;
  kept: number;
}

export interface RestoreSummary {
  sandbox: string;
  target: string;
  dryRun: boolean;
  bundle: { timestamp: string; name: string | null; version: number | null; dir: string };
  /** The directories whose trees were (or would be) swapped. */
  dirs: string[];
  counts: PlanCounts;
  keptReasons: Partial<Record<KeepReason, number>>;
  /** Payload paths per category: complete in a dry run, the first few otherwise. */
  paths: { replaced: string[]; unchanged: string[]; added: string[]; removed: string[]; kept: string[] };
  databases: string[];
  merges: MergeOutcome[];
  /** The safety snapshot taken before the swap, with the command that undoes the restore. */
  preRestore: { selector: string; timestamp: string; dir: string; undo: string } | null;
  registered: boolean;
  policy: PolicyChange;
  restart: string | null;
  warnings: string[];
  durationMs: number;
}

const LISTED_AFTER_RESTORE = 20;

const RESTART_HINTS: Record<string, string> = {
  openclaw: 'restart the OpenClaw gateway (e.g. `openclaw gateway restart`) so it reopens the restored files',
  hermes: 'restart Hermes so it reopens the restored files and databases',
  deepagents: 'restart any running Deep Agents session so it rereads config.toml and the agents',
  qwenpaw: 'restart QwenPaw so it reloads config.json and the workspaces',
};

function restartHint(agent: string): string {
  return RESTART_HINTS[agent] ?? `restart ${agent} if it is running, so it reopens the restored files`;
}

/** Bundle scope ∩ request scope: a partial bundle restores only what it holds; everything else stays. */
function restoreScope(bundle: BundleManifest, request: RestoreRequest): ScopeOptions {
  const scope: ScopeOptions = { noSecrets: !bundle.scope.includesSecrets, excludes: bundle.scope.excludes };
  if (request.only) {
    const missing = bundle.scope.full ? [] : request.only.filter((m) => !bundle.scope.modules.includes(m));
    if (missing.length > 0) {
      throw new UsageError(`snapshot ${bundle.timestamp} does not hold module ${missing.map((m) => JSON.stringify(m)).join(', ')}`, {
        hint: `it holds ${bundle.scope.modules.join(', ')}`,
      });
    }
    scope.only = request.only;
  } else if (!bundle.scope.full) scope.only = bundle.scope.modules;
  const bundleAgents = bundle.scope.agents;
  if (request.agents) {
    const missing = bundleAgents ? request.agents.filter((a) => !bundleAgents.includes(a)) : [];
    if (missing.length > 0) {
      throw new UsageError(`snapshot ${bundle.timestamp} does not hold agent ${missing.map((a) => JSON.stringify(a)).join(', ')}`, {
        hint: `it holds ${bundleAgents!.join(', ')}`,
      });
    }
    scope.agents = request.agents;
  } else if (bundleAgents) scope.agents = bundleAgents;
  return scope;
}

function summarise(
  request: RestoreRequest,
  target: RestoreTarget,
  record: { timestamp: string; version: number | undefined; dir: string },
  bundle: BundleManifest,
  plan: RestorePlan,
  extra: Pick<RestoreSummary, 'merges' | 'preRestore' | 'policy' | 'warnings'>,
  started: number,
): RestoreSummary {
  const dryRun = request.dryRun === true;
  const list = (paths: string[]): string[] => (dryRun ? paths : paths.slice(0, LISTED_AFTER_RESTORE));
  const changed = plan.replaced.length + plan.added.length + plan.removed.length > 0;
  return {
    sandbox: request.sandbox,
    target: target.name,
    dryRun,
    bundle: { timestamp: record.timestamp, name: bundle.name, version: record.version ?? null, dir: record.dir },
    dirs: plan.units.map((u) => u.dir),
    counts: { replaced: plan.replaced.length, unchanged: plan.unchanged.length, added: plan.added.length, removed: plan.removed.length, kept: plan.kept.length },
    keptReasons: plan.keptReasons,
    paths: { replaced: list(plan.replaced), unchanged: list(plan.unchanged), added: list(plan.added), removed: list(plan.removed), kept: list(plan.kept) },
    databases: plan.databases,
    merges: extra.merges,
    preRestore: extra.preRestore,
    registered: target.create !== undefined,
    policy: extra.policy,
    restart: !dryRun && changed && target.create === undefined ? restartHint(bundle.agentType) : null,
    warnings: [...plan.warnings, ...extra.warnings],
    durationMs: Date.now() - started,
  };
}

/**
 * Restores a snapshot (SPEC 6): verify the bundle, plan, stage the restored
 * trees beside the live ones (checking every file's sha256 as it is copied),
 * take a pre-restore snapshot, then swap under a journal so that a kill at
 * any instant leaves the old state or the new one.
 */
export async function restoreSnapshot(request: RestoreRequest, deps: EngineDeps): Promise<RestoreSummary> {
  const started = Date.now();
  let target = resolveTarget(request, deps);
  const confirmation = restoreConfirmation(request, deps);
  if (confirmation && !request.confirmed) {
    throw new RefusedError('confirmation-missing', `not restoring over ${confirmation.name} without confirmation`, { hint: 'pass --yes' });
  }
  let lock: Lock | undefined;
  if (!request.dryRun) {
    lock = acquireLocks(deps.layout.locks, [request.sandbox, target.name], { command: 'snapshot restore', waitMs: deps.lockWaitMs, now: deps.now });
  }
  try {
    if (lock) {
      const recovered = recoverJournal(deps, target.name);
      if (recovered) deps.events.warning?.(`an interrupted restore of ${target.name} was ${recovered.action === 'rolled-back' ? 'rolled back' : 'completed'} first`);
      // The registry may have changed while we waited for the lock.
      target = resolveTarget(request, deps);
    }
    return reportWarnings(await restoreLocked(request, target, deps, started), deps);
  } finally {
    lock?.release();
  }
}

/**
 * The same restore for a caller that already holds the sandbox's lock (rebuild), so no other clawback
 * can slip in between its steps. In place only: `--to` needs two locks and goes through restoreSnapshot.
 */
export async function restoreSnapshotLocked(request: RestoreRequest, deps: EngineDeps): Promise<RestoreSummary> {
  if (request.to !== undefined && request.to !== request.sandbox) throw new UsageError('restoreSnapshotLocked restores in place only');
  const started = Date.now();
  const target = resolveTarget(request, deps);
  const confirmation = restoreConfirmation(request, deps);
  if (confirmation && !request.confirmed) {
    throw new RefusedError('confirmation-missing', `not restoring over ${confirmation.name} without confirmation`, { hint: 'pass --yes' });
  }
  return reportWarnings(await restoreLocked(request, target, deps, started), deps);
}

/** Warnings reach the user through deps.events.warning; the summary keeps them for --json. */
function reportWarnings(summary: RestoreSummary, deps: EngineDeps): RestoreSummary {
  for (const warning of summary.warnings) deps.events.warning?.(warning);
  return summary;
}

async function restoreLocked(request: RestoreRequest, target: RestoreTarget, deps: EngineDeps, started: number): Promise<RestoreSummary> {
  const record = findSnapshot(request.sandbox, request.selector ?? 'latest', deps);
  if (record.state !== 'complete') {
    throw new IntegrityError('bundle-incomplete', `${record.dir} is ${record.state}; only complete snapshots can be restored`, {
      hint: record.problem?.message ?? 'choose another snapshot (`snapshot list`)',
    });
  }
  // listBundles already parsed it strictly; parsing 40,000 entries twice costs a noticeable part of a restore.
  const bundle = record.manifest ?? readBundleManifest(record.dir);
  assertContentChecksum(bundle, path.join(record.dir, MANIFEST_FILE));
  const agentManifest = loadAgentManifest(target.entry.agent);
  if (bundle.agentType !== agentManifest.agent) {
    throw new RefusedError('agent-mismatch', `snapshot ${record.timestamp} is of a ${bundle.agentType} home; ${target.name} is ${agentManifest.agent}`, {
      hint: 'restore it into a sandbox of the same agent kind (--to a new name registers one)',
    });
  }

  deps.events.phase?.('plan');
  const root = path.resolve(target.entry.root);
  const mounts = mapMounts(bundle.mounts, resolveMounts(target.entry, agentManifest), {
    root,
    ...(request.newAgentRoot !== undefined ? { newAgentRoot: path.resolve(request.newAgentRoot) } : {}),
  });
  const selection = new Selection(agentManifest, mounts, restoreScope(bundle, request));
  const plan = planRestore({ bundle, payloadDir: bundlePayloadDir(record.dir), mounts, selection, agentManifest, home: deps.layout.home, statLive: request.dryRun === true });
  // QwenPaw (issue 6): agent locations rewritten in the staged trees; the working dir (config.json) is swapped last.
  const qwenpaw = agentManifest.agent === 'qwenpaw' ? prepareQwenPawRestore({ bundle, payloadDir: bundlePayloadDir(record.dir), mounts, selection, plan, full: request.only === undefined && request.agents === undefined }) : undefined;
  const nextPolicy = { policyPresets: bundle.policyPresets, customPolicies: bundle.customPolicies };
  const policy = diffPolicies(target.entry, nextPolicy);

  if (request.dryRun) {
    deps.events.phase?.('verify', { files: plan.filesToWrite, bytes: plan.bytesToWrite });
    const run = new StageRun(deps, Number.POSITIVE_INFINITY);
    for (const unit of plan.units) verifyPlanned(unit, run);
    return summarise(request, target, record, bundle, plan, { merges: run.merges, preRestore: null, policy, warnings: run.warnings }, started);
  }

  for (const unit of plan.units) assertSwappable(unit.dir, unit.exists);
  const restoreItems = plan.units.flatMap((u) => u.items.flatMap((i) => (i.kind === 'restore' ? [i] : [])));
  const candidates = restoreItems.flatMap((i) => (i.linkCandidate ? [{ path: i.linkCandidate, entry: i.entry, mode: i.mode }] : []));
  const databases = restoreItems.filter((i) => i.entry.strategy === 'sqlite_backup');
  const jobs: LiveHashJob[] = [
    ...candidates.map(({ path: file, entry, mode }) => ({ path: file, size: entry.size ?? -1, sha256: entry.sha256 ?? '', live: { mode, mtimeMs: entry.mtimeMs ?? -1 } })),
    ...databases.map((i) => ({ path: i.source, size: i.entry.size ?? -1, sha256: i.entry.sha256 ?? '' })),
  ];
  const liveHashes = startLiveHashing(jobs);
  const stamp = bundleTimestamp(deps.now());
  const journal: JournalRecord = {
    version: 1,
    sandbox: target.name,
    state: 'staging',
    bundle: record.dir,
    pairs: plan.units.map((unit) => ({ live: unit.dir, ...stagedPathFor(unit.dir, stamp), liveExisted: unit.exists })),
    registry: { ...nextPolicy, ...(target.create ? { created: target.create } : {}) },
    createdAt: deps.now().toISOString(),
  };
  writeJournal(deps.layout, journal);
  let preRestore: RestoreSummary['preRestore'] = null;
  const copies = plan.units.flatMap((u) => u.items).filter((i) => i.kind === 'restore' && i.entry.type === 'file' && !i.linkCandidate).length;
  const run = new StageRun(deps, Math.max(1, Math.floor(copies / 2)));
  try {
    if (target.create) {
      const entry = target.create;
      updateRegistry(deps.layout, (registry) => {
        registry.sandboxes[entry.name] = { ...entry };
      });
    }
    deps.events.phase?.('restore', { files: plan.filesToWrite, bytes: plan.bytesToWrite });
    for (const [i, unit] of plan.units.entries()) {
      ensureDir(path.dirname(unit.dir));
      await stageFromBundle(unit, journal.pairs[i]!.staged, run);
    }
    const matches = await liveHashes.results();
    const badDatabase = databases.find((_, i) => matches[candidates.length + i] !== 1);
    if (badDatabase) throw mismatch(badDatabase.entry);
    const verifiedLive = new Set(candidates.filter((_, i) => matches[i] === 1).map((c) => c.path));
    for (const [i, unit] of plan.units.entries()) stageMismatched(unit, journal.pairs[i]!.staged, run, verifiedLive);
    const verifiedPaths = new Set(candidates.filter((c) => verifiedLive.has(c.path)).map((c) => c.entry.path));
    plan.unchanged = [...plan.unchanged, ...plan.pending.filter((p) => verifiedPaths.has(p))].sort();
    plan.replaced = [...plan.replaced, ...plan.pending.filter((p) => !verifiedPaths.has(p))].sort();
    plan.pending = [];
    // Every bundle file the restore needs has now been read and checked against the manifest.
    deps.fault?.('restore:staged');

    if (!request.noPreRestore && plan.units.some((u) => u.exists && dirHasEntries(u.dir))) {
      deps.events.phase?.('pre-restore snapshot');
      preRestore = await takePreRestoreSnapshot(target.name, stamp, deps);
      deps.events.phase?.('restore', { files: plan.filesToWrite, bytes: plan.bytesToWrite });
    }

    for (const [i, unit] of plan.units.entries()) {
      stageCarried(unit, journal.pairs[i]!.staged, run, verifiedLive);
      qwenpaw?.rewriteStaged(unit, journal.pairs[i]!.staged);
      finishStage(unit, journal.pairs[i]!.staged);
      syncTree(journal.pairs[i]!.staged, syncfs);
    }
    deps.fault?.('restore:carried');
  } catch (error) {
    liveHashes.cancel();
    rollBack(deps.layout, journal, stamp);
    throw error;
  }

  deps.events.phase?.('swap');
  swapAndCommit(journal, deps);
  return summarise(request, target, record, bundle, plan, { merges: run.merges, preRestore, policy, warnings: run.warnings }, started);
}

async function takePreRestoreSnapshot(sandbox: string, stamp: string, deps: EngineDeps): Promise<NonNullable<RestoreSummary['preRestore']>> {
  const label = `pre-restore-${stamp}`;
  try {
    const summary = await createSnapshotLocked({ sandbox, label, scope: {} }, deps);
    return { selector: label, timestamp: summary.timestamp, dir: summary.dir, undo: `clawback ${sandbox} snapshot restore ${label}` };
  } catch (error) {
    if (!(error instanceof ClawbackError)) throw error;
    throw new ClawbackError(error.code, error.exitCode, `the pre-restore snapshot of ${sandbox} failed, so nothing was restored: ${error.message}`, {
      hint: error.hint ?? 'fix the cause, or pass --no-pre-restore to restore without a safety snapshot',
      details: error.details,
      cause: error,
    });
  }
}
