import { lockHost } from '../sandbox/lock.js';
import path from 'node:path';
import { IntegrityError, RefusedError, UsageError } from '../../errors.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import { assertContentChecksum, MANIFEST_FILE, type BundleManifest } from '../../manifest/bundle-manifest.js';
import { readBundleManifest, type BundleRecord } from '../../store/bundles.js';
import { acquireLocks, type Lock } from '../../store/lock.js';
import { findRestoreSource } from '../bundle/find.js';
import type { SnapshotScope } from '../bundle/scope.js';
import { sweepLeftovers } from '../bundle/remove.js';
import { sandboxBundleDir } from '../../store/home.js';
import type { EngineDeps } from '../deps.js';
import { planQwenPawRestore } from './qwenpaw-registry.js';
import { recoverSandbox } from '../recovery.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { Selection, type ScopeOptions } from '../sandbox/selection.js';
import { applyPlan } from './apply.js';
import { mapMounts } from './mounts.js';
import { planRestore, writeTotals, type RestorePlan } from './plan.js';
import { diffPolicies } from './policy.js';
import { StageRun, verifyPlanned } from './stage.js';
import { summariseRestore, type RestoreOutcome, type RestoreSummary } from './summary.js';
import { resolveTarget, restoreConfirmation, type RestoreTarget } from './target.js';

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
  /** Restore only these paths (globs); with `latest`, a partial snapshot that holds them may be chosen. */
  paths?: string[];
  newAgentRoot?: string;
  noPreRestore?: boolean;
}

export type { PlanCounts, RestoreSummary } from './summary.js';

/** Bundle scope ∩ request scope: a partial bundle restores only what it holds; everything else stays. */
function restoreScope(bundle: BundleManifest, request: RestoreRequest): ScopeOptions {
  const scope: ScopeOptions = { noSecrets: !bundle.scope.includesSecrets, excludes: bundle.scope.excludes };
  if (bundle.scope.paths) scope.within = bundle.scope.paths;
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
    // A full bundle names no agents in its scope: the ones it holds are those its entries belong to.
    const held = bundleAgents ?? [...new Set(bundle.entries.flatMap((e) => (e.agent === undefined ? [] : [e.agent])))].sort();
    const missing = request.agents.filter((a) => !held.includes(a));
    if (missing.length > 0) {
      throw new UsageError(`snapshot ${bundle.timestamp} does not hold agent ${missing.map((a) => JSON.stringify(a)).join(', ')}`, {
        hint: held.length > 0 ? `it holds ${held.join(', ')}` : 'it holds no per-agent state; leave out --agent',
      });
    }
    scope.agents = request.agents;
  } else if (bundleAgents) scope.agents = bundleAgents;
  return scope;
}

/**
 * Restores a snapshot (README "Restore"): verify the bundle, plan, stage the restored
 * trees beside the live ones (checking every file's sha256 as it is copied),
 * take a pre-restore snapshot, then swap under a journal so that a kill at
 * any instant leaves the old state or the new one.
 */
export async function restoreSnapshot(request: RestoreRequest, deps: EngineDeps): Promise<RestoreSummary> {
  const started = deps.clock();
  let target = resolveTarget(request, deps);
  const confirmation = restoreConfirmation(request, deps);
  if (confirmation && !request.confirmed) {
    throw new RefusedError('confirmation-missing', `not restoring over ${confirmation.name} without confirmation`, { hint: 'pass --yes' });
  }
  let lock: Lock | undefined;
  if (!request.dryRun) {
    lock = acquireLocks(deps.layout.locks, [request.sandbox, target.name], { command: 'snapshot restore', waitMs: deps.lockWaitMs, now: deps.now, host: lockHost(deps) });
  }
  try {
    if (lock) {
      recoverSandbox(deps, target.name);
      for (const name of new Set([request.sandbox, target.name])) sweepLeftovers(sandboxBundleDir(deps.layout, name), deps);
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
  // A caller's mistake, not the user's: a bug (exit 1 with a stack), never a usage error.
  if (request.to !== undefined && request.to !== request.sandbox) throw new Error('restoreSnapshotLocked restores in place only');
  const started = deps.clock();
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

interface RestoreSource {
  record: BundleRecord;
  scope: SnapshotScope | undefined;
  bundle: BundleManifest;
  agentManifest: AgentManifest;
}

/** The snapshot to restore, checked: complete, its manifest intact, of the target's agent kind. */
function loadSource(request: RestoreRequest, target: RestoreTarget, deps: EngineDeps): RestoreSource {
  const need = { ...(request.only ? { only: request.only } : {}), ...(request.agents ? { agents: request.agents } : {}), ...(request.paths ? { paths: request.paths } : {}) };
  const { record, scope } = findRestoreSource(request.sandbox, request.selector ?? 'latest', need, deps);
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
  return { record, scope, bundle, agentManifest };
}

/** The plan for this target: mounts mapped, scope applied, and (QwenPaw) the agent registry rewrite. */
function planFor(request: RestoreRequest, target: RestoreTarget, source: RestoreSource, deps: EngineDeps): RestorePlan {
  const { record, bundle, agentManifest } = source;
  const payloadDir = record.payloadDir;
  const mounts = mapMounts(bundle.mounts, resolveMounts(target.entry, agentManifest, deps.host.homeDir), {
    root: path.resolve(target.entry.root),
    ...(request.newAgentRoot !== undefined ? { newAgentRoot: path.resolve(request.newAgentRoot) } : {}),
  });
  const selection = new Selection(agentManifest, mounts, restoreScope(bundle, request));
  const plan = planRestore({ bundle, payloadDir, mounts, selection, agentManifest, home: deps.layout.home, statLive: request.dryRun === true });
  if (agentManifest.agent !== 'qwenpaw') return plan;
  return planQwenPawRestore(plan, { bundle, payloadDir, mounts, selection, full: request.only === undefined && request.agents === undefined, homeDir: deps.host.homeDir });
}

/** A dry run: every file the restore would write hashed against the manifest, config merges tried in memory. */
function checkPlan(plan: RestorePlan, deps: EngineDeps): RestoreOutcome {
  deps.events.phase?.('verify', writeTotals(plan));
  const run = new StageRun(deps, Number.POSITIVE_INFINITY);
  for (const unit of plan.units) verifyPlanned(unit, run);
  return { merges: run.merges, preRestore: null, warnings: run.warnings };
}

async function restoreLocked(request: RestoreRequest, target: RestoreTarget, deps: EngineDeps, started: number): Promise<RestoreSummary> {
  const source = loadSource(request, target, deps);
  deps.events.phase?.('plan');
  const planned = planFor(request, target, source, deps);
  const nextPolicy = { policyPresets: source.bundle.policyPresets, customPolicies: source.bundle.customPolicies };
  const policy = diffPolicies(target.entry, nextPolicy);
  const { plan, outcome } = request.dryRun
    ? { plan: planned, outcome: checkPlan(planned, deps) }
    : await applyPlan({ plan: planned, target, bundleDir: source.record.dir, policy: nextPolicy, preRestore: !request.noPreRestore, policyChanges: policy.changed }, deps);
  return summariseRestore({
    sandbox: request.sandbox,
    dryRun: request.dryRun === true,
    target,
    record: source.record,
    scope: source.scope,
    bundle: source.bundle,
    plan,
    policy,
    outcome,
    durationMs: deps.clock() - started,
  });
}
