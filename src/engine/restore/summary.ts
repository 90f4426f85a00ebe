import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import type { BundleRecord } from '../../store/bundles.js';
import { snapshotScope, type SnapshotScope } from '../bundle/scope.js';
import { tallyPlan, type KeepReason, type RestorePlan } from './plan.js';
import type { PolicyChange } from './policy.js';
import type { MergeOutcome } from './stage.js';
import type { RestoreTarget } from './target.js';

export interface PlanCounts {
  replaced: number;
  unchanged: number;
  added: number;
  removed: number;
  kept: number;
}

export interface PreRestoreSnapshot {
  selector: string;
  shortId: string;
  timestamp: string;
  dir: string;
  undo: string;
}

export interface RestoreSummary {
  sandbox: string;
  target: string;
  dryRun: boolean;
  /** The snapshot restored; `scope.full` false means a partial one: only what it holds was restored. */
  bundle: { timestamp: string; shortId: string; name: string | null; version: number | null; dir: string; scope: SnapshotScope };
  /** The directories whose trees were (or would be) swapped. */
  dirs: string[];
  counts: PlanCounts;
  keptReasons: Partial<Record<KeepReason, number>>;
  /** Payload paths per category: complete in a dry run, the first few otherwise. */
  paths: { replaced: string[]; unchanged: string[]; added: string[]; removed: string[]; kept: string[] };
  databases: string[];
  merges: MergeOutcome[];
  /** The safety snapshot taken before the swap, with the command that undoes the restore. */
  preRestore: PreRestoreSnapshot | null;
  registered: boolean;
  policy: PolicyChange;
  restart: string | null;
  warnings: string[];
  durationMs: number;
}

/** What staging (or a dry run's check) adds to the plan: merge reports, warnings, the safety snapshot. */
export interface RestoreOutcome {
  merges: MergeOutcome[];
  preRestore: PreRestoreSnapshot | null;
  warnings: string[];
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

export interface SummaryInput {
  sandbox: string;
  dryRun: boolean;
  target: RestoreTarget;
  record: Pick<BundleRecord, 'timestamp' | 'shortId' | 'version' | 'dir'>;
  scope: SnapshotScope | undefined;
  bundle: BundleManifest;
  plan: RestorePlan;
  policy: PolicyChange;
  outcome: RestoreOutcome;
  durationMs: number;
}

/** The plan (settled, after a restore) as the user sees it. */
export function summariseRestore(input: SummaryInput): RestoreSummary {
  const { dryRun, target, record, bundle, plan, outcome } = input;
  const { paths, counts, keptReasons, databases } = tallyPlan(plan);
  const list = (all: string[]): string[] => (dryRun ? all : all.slice(0, LISTED_AFTER_RESTORE));
  const changed = paths.replaced.length + paths.added.length + paths.removed.length > 0;
  return {
    sandbox: input.sandbox,
    target: target.name,
    dryRun,
    bundle: { timestamp: record.timestamp, shortId: record.shortId, name: bundle.name, version: record.version ?? null, dir: record.dir, scope: input.scope ?? snapshotScope(bundle, undefined) },
    dirs: plan.units.map((u) => u.dir),
    counts: { replaced: counts.replaced, unchanged: counts.unchanged, added: counts.added, removed: counts.removed, kept: counts.kept },
    keptReasons,
    paths: { replaced: list(paths.replaced), unchanged: list(paths.unchanged), added: list(paths.added), removed: list(paths.removed), kept: list(paths.kept) },
    databases,
    merges: outcome.merges,
    preRestore: outcome.preRestore,
    registered: target.create !== undefined,
    policy: input.policy,
    restart: !dryRun && changed && target.create === undefined ? restartHint(bundle.agentType) : null,
    warnings: [...plan.warnings, ...outcome.warnings],
    durationMs: input.durationMs,
  };
}
