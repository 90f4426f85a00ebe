import { lockHost } from '../sandbox/lock.js';
import path from 'node:path';
import { RefusedError } from '../../errors.js';
import { acquireLocks, type Lock } from '../../store/lock.js';
import { sweepLeftovers } from '../bundle/remove.js';
import { sandboxBundleDir } from '../../store/home.js';
import type { EngineDeps } from '../deps.js';
import { planQwenPawRestore } from './qwenpaw-registry.js';
import { recoverSandbox } from '../recovery.js';
import { resolveMounts } from '../sandbox/layout.js';
import { Selection } from '../sandbox/selection.js';
import { applyPlan } from './apply.js';
import { mapMounts, type MappedMount } from './mounts.js';
import { LOCAL_LIVE_VIEW, type LiveView } from './live-view.js';
import { isRemoteSandbox, withSandboxTransport } from '../sandbox/transport.js';
import { planRestore, writeTotals, type RestorePlan } from './plan.js';
import { diffPolicies } from './policy.js';
import { StageRun, verifyPlanned } from './stage.js';
import { summariseRestore, type RestoreOutcome, type RestoreSummary } from './summary.js';
import { loadSource, needOf, type RestoreSource } from './source.js';
import { resolveTarget, restoreConfirmation, type RestoreTarget } from './target.js';
import { assertPathsSelected, restoreScope } from './scope.js';

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
  /** `--path`: only these snapshot paths (globs), each with everything below it; with `latest`, a partial snapshot that holds them may be chosen. */
  paths?: string[];
}

export type { PlanCounts, RestoreSummary } from './summary.js';

/**
 * Restores a snapshot (README "Restore"): verify the bundle, plan, stage the restored
 * trees beside the live ones (checking every file's sha256 as it is copied),
 * take a pre-restore snapshot, then swap under a journal so that a kill at
 * any instant leaves the old state or the new one.
 */
export async function restoreSnapshot(request: RestoreRequest, deps: EngineDeps): Promise<RestoreSummary> {
  const started = deps.clock();
  let target = resolveTarget(request, deps);
  const confirmation = await restoreConfirmation(request, deps);
  if (confirmation && !request.confirmed) {
    throw new RefusedError('confirmation-missing', `not restoring over ${confirmation.name} without confirmation`, { hint: 'pass --yes' });
  }
  let lock: Lock | undefined;
  if (!request.dryRun) {
    lock = acquireLocks(deps.layout.locks, [request.sandbox, target.name], { command: 'snapshot restore', waitMs: deps.lockWaitMs, now: deps.now, host: lockHost(deps) });
  }
  try {
    if (lock) {
      await recoverSandbox(deps, target.name);
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
  const confirmation = await restoreConfirmation(request, deps);
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

/** The target's mounts mapped to the bundle's prefixes. */
function mountsFor(request: RestoreRequest, target: RestoreTarget, source: RestoreSource, deps: EngineDeps): MappedMount[] {
  return mapMounts(source.bundle.mounts, resolveMounts(target.entry, source.agentManifest, deps.host.homeDir), {
    root: path.resolve(target.entry.root),
    ...(request.newAgentRoot !== undefined ? { newAgentRoot: path.resolve(request.newAgentRoot) } : {}),
  });
}

/** The plan for this target against its live state (here, or a remote target's scan): scope applied, and (QwenPaw) the agent registry rewrite. */
function planFor(request: RestoreRequest, source: RestoreSource, mounts: MappedMount[], live: LiveView, deps: EngineDeps): RestorePlan {
  const { record, bundle, agentManifest } = source;
  const payloadDir = record.payloadDir;
  const selection = new Selection(agentManifest, mounts, restoreScope(bundle, request));
  assertPathsSelected(bundle, selection, request);
  const home = live === LOCAL_LIVE_VIEW ? deps.layout.home : undefined;
  const local = live === LOCAL_LIVE_VIEW;
  const plan = planRestore({ bundle, payloadDir, mounts, selection, agentManifest, home, statLive: request.dryRun === true, live, compactCarry: local && request.dryRun !== true });
  if (agentManifest.agent !== 'qwenpaw') return plan;
  return planQwenPawRestore(plan, { bundle, payloadDir, mounts, selection, full: request.only === undefined && request.agents === undefined && request.paths === undefined, homeDir: deps.host.homeDir });
}

/** A dry run: every file the restore would write hashed against the manifest, config merges tried in memory. */
function checkPlan(plan: RestorePlan, deps: EngineDeps): RestoreOutcome {
  deps.events.phase?.('verify', writeTotals(plan));
  const run = new StageRun(deps, Number.POSITIVE_INFINITY);
  for (const unit of plan.units) verifyPlanned(unit, run);
  return { merges: run.merges, preRestore: null, warnings: run.warnings };
}

async function restoreLocked(request: RestoreRequest, target: RestoreTarget, deps: EngineDeps, started: number): Promise<RestoreSummary> {
  const source = loadSource(request.sandbox, request.selector ?? 'latest', needOf(request), target, deps);
  deps.events.phase?.('plan');
  const mounts = mountsFor(request, target, source, deps);
  const nextPolicy = { policyPresets: source.bundle.policyPresets, customPolicies: source.bundle.customPolicies };
  const policy = diffPolicies(target.entry, nextPolicy);
  const apply = { target, bundleDir: source.record.dir, policy: nextPolicy, preRestore: !request.noPreRestore, policyChanges: policy.changed };
  let applied: { plan: RestorePlan; outcome: RestoreOutcome };
  if (isRemoteSandbox(target.entry)) {
    // The one seam between here and a remote target: planning reads a scan, staging and the swap run there.
    // The remote path's modules load only for a remote target.
    const { assertRemoteRestorable, restoreRemote } = await import('./remote-restore.js');
    assertRemoteRestorable(source.agentManifest.agent, target.entry.via ?? '');
    const plan = (live: LiveView): RestorePlan => planFor(request, source, mounts, live, deps);
    applied = await withSandboxTransport(target.entry, deps, (shell) => restoreRemote(shell, { mounts, plan, dryRun: request.dryRun === true, apply }, deps));
  } else {
    const planned = planFor(request, source, mounts, LOCAL_LIVE_VIEW, deps);
    applied = request.dryRun ? { plan: planned, outcome: checkPlan(planned, deps) } : await applyPlan({ plan: planned, ...apply }, deps);
  }
  return summariseRestore({
    sandbox: request.sandbox,
    dryRun: request.dryRun === true,
    target,
    record: source.record,
    scope: source.scope,
    bundle: source.bundle,
    plan: applied.plan,
    policy,
    outcome: applied.outcome,
    durationMs: deps.clock() - started,
  });
}
