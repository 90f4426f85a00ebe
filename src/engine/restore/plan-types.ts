import type { AgentManifest, MergeRule } from '../../manifest/agent-manifest.js';
import type { BundleEntry, BundleManifest } from '../../manifest/bundle-manifest.js';
import type { Selection } from '../sandbox/selection.js';
import type { CarriedTree } from './carried-tree.js';
import type { LiveType, LiveView } from './live-view.js';
import type { MappedMount } from './mounts.js';

/**
 * Why a live path is carried over into the restored tree instead of being replaced.
 * `not_captured`: the bundle could not hold it (in its skipped list: unreadable, a socket, vanished…,
 * or a type no snapshot captures), so its absence from the bundle says nothing. `unreadable`: the
 * restore would remove or overwrite it, but it cannot be read now, so no snapshot can save it first.
 */
export type KeepReason =
  | 'excluded'
  | 'machine_local'
  | 'unselected'
  | 'out_of_scope'
  | 'secret_left_out'
  | 'user_managed'
  | 'other_mount'
  | 'shadowed'
  | 'not_captured'
  | 'unreadable';

export interface LiveInfo {
  path: string;
  type: LiveType;
  mode: number;
  size: number;
  mtimeMs: number;
  target?: string;
}

/**
 * A file kept in line with a restored OpenClaw config (its `openclaw.json.last-good`, NemoClaw's
 * `.config-hash`): written after the config is staged, from the config's restored bytes.
 */
export interface Follows {
  role: 'last-good' | 'config-hash';
  /** The config's rel in the unit and its payload path. */
  rel: string;
  path: string;
}

export type RestoreItem = {
  kind: 'restore';
  rel: string;
  entry: BundleEntry;
  source: string;
  mode: number;
  merge?: MergeRule;
  /** Where an OpenClaw `$include` file's content sits in the root config: merged with the rule rebased there. */
  mergeAt?: readonly string[];
  mergeLive?: string;
  /** Written as the snapshot has it only when the config is too; otherwise derived from the restored config. */
  follows?: Follows;
  /** The live file at this path: linked instead of copied if its size, mode, mtime and sha256 match the manifest. */
  linkCandidate?: string;
};

/** `follows`: a live companion of a restored config that the restore rewrites instead of carrying (see Follows). */
export type CarryItem = { kind: 'carry'; rel: string; live: LiveInfo; reason: KeepReason; display: string; follows?: Follows };

/**
 * A live directory carried over with everything below it (nothing of the snapshot lies there): its
 * entries held as columns (carried-tree.ts), not one item each, and linked into the staged tree in
 * one job. Only a local restore that is not a dry run plans these (PlanInput.compactCarry).
 */
export type TreeItem = { kind: 'tree'; rel: string; live: string; reason: KeepReason; display: string; tree: CarriedTree };

export type PlanItem =
  /** A directory of the restored tree (from the bundle, carried over, or needed as an ancestor). */
  | { kind: 'dir'; rel: string; mode: number; origin: 'bundle' | 'live' | 'implicit' }
  /** A live file, symlink or special file carried over unchanged (hard-linked when staged). */
  | CarryItem
  /** A bundle file or symlink written into the restored tree. */
  | RestoreItem
  /** A live directory tree carried over as a whole. */
  | TreeItem;

export interface UnitPart {
  prefix: string;
  /** Where the mount sits inside the unit ('' = the unit dir itself). */
  rel: string;
  /** A current mount the bundle does not have: left untouched. */
  keep: boolean;
}

/** One directory swapped as a whole. Mounts nested inside it (a QwenPaw workspace inside the working dir) are part of it. */
export interface PlanUnit {
  dir: string;
  exists: boolean;
  rootMode: number;
  parts: UnitPart[];
  /** Every directory precedes what lies below it. */
  items: PlanItem[];
}

/**
 * What the restore does to one path, as the user sees it: a payload path (or
 * an absolute path outside any mount). `pending`: an in-scope live file the
 * hash worker sorts into unchanged (linked) or replaced (copied). `dropped`:
 * a live path that would have been kept but is in the way of the restored
 * tree (it is in the pre-restore snapshot).
 */
export type PlanAction = 'replaced' | 'unchanged' | 'pending' | 'added' | 'removed' | 'kept' | 'dropped';

export interface PlanChange {
  path: string;
  action: PlanAction;
  /** Set on paths that were carried over (kept), even when a later step removed or dropped them. */
  reason?: KeepReason;
  /** A carried tree (its display path): the change stands for every non-directory entry below it. */
  tree?: CarriedTree;
}

/** QwenPaw: the agent registry written into the staged config.json, and where each restored agent now lives (its agent.json). */
export interface AgentRegistryRewrite {
  profiles: Record<string, unknown> | undefined;
  locations: ReadonlyMap<string, string>;
}

export interface RestorePlan {
  /** In the order they are swapped. */
  units: PlanUnit[];
  /** Files and symlinks only, in the order the live tree was walked; lists and counts come from tallyPlan. */
  changes: PlanChange[];
  warnings: string[];
  agentRegistry?: AgentRegistryRewrite;
}

export interface PlanInput {
  bundle: BundleManifest;
  payloadDir: string;
  mounts: MappedMount[];
  selection: Selection;
  agentManifest: AgentManifest;
  /** clawback's home: a restore must never swap the directory holding it (undefined: the live state is on another machine). */
  home: string | undefined;
  /**
   * Stat in-scope live files to sort them into replaced and unchanged (a dry
   * run). A restore leaves that to the hash worker, which opens them anyway:
   * they go to `pending` and become link candidates.
   */
  statLive: boolean;
  /** Where the live state is read: this host's filesystem, or a remote target's scan. */
  live: LiveView;
  /** Carry a live directory holding nothing of the snapshot as one TreeItem (a local restore that writes). */
  compactCarry?: boolean;
}
