import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError } from '../../errors.js';
import { isRecord } from '../../records.js';
import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import type { MappedMount } from '../restore/mounts.js';
import type { PlanUnit, RestorePlan } from '../restore/plan.js';
import { readVerified } from '../bundle/checked-read.js';
import type { Selection } from '../sandbox/selection.js';
import { readQwenPawProfiles } from '../sandbox/qwenpaw-profiles.js';

export interface QwenPawRestoreInput {
  bundle: BundleManifest;
  payloadDir: string;
  mounts: readonly MappedMount[];
  selection: Selection;
  plan: RestorePlan;
  /** No --only and no --agent: the agent registry becomes the snapshot's (QwenPaw's "full restore"). */
  full: boolean;
  /** The user's home, for a live workspace_dir written with `~`. */
  homeDir: string;
}

export interface QwenPawRestore {
  /** Agents restored, and where each now lives. */
  readonly locations: ReadonlyMap<string, string>;
  /** Rewrites config.json and the restored agents' agent.json inside a unit's staged tree (never the live files). */
  rewriteStaged(unit: PlanUnit, stagedDir: string): void;
}

type Json = Record<string, unknown>;

const CONFIG = 'config.json';
const AGENT_FILE = 'agent.json';

function parseJson(text: string, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new IntegrityError('config-unparseable', `${what} is not valid JSON (${(error as Error).message}); nothing was restored`, {
      hint: 'clawback rewrites the agent locations in config.json and will not guess at a broken file',
    });
  }
  if (!isRecord(value)) throw new IntegrityError('config-unparseable', `${what} is not a JSON object; nothing was restored`);
  return value;
}

function profilesOf(config: Json | undefined): Json {
  const agents = config?.agents;
  return isRecord(agents) && isRecord(agents.profiles) ? agents.profiles : {};
}

/**
 * QwenPaw keeps where each agent lives in two places: `config.json`
 * `agents.profiles[id].workspace_dir` and each workspace's `agent.json`
 * `workspace_dir`. A restore that puts an agent somewhere else (another
 * machine, --new-agent-root) must rewrite both, in the staged trees, before
 * the swap. Full restore: the registry becomes the snapshot's agents (the
 * live ones it lacks are dropped and their folders reported, not deleted).
 * Custom restore: the live registry, with the restored agents laid over it.
 *
 * Also orders the units so the working dir, which carries config.json, is
 * swapped last: the registry never names a workspace that is not in place.
 */
export function prepareQwenPawRestore(input: QwenPawRestoreInput): QwenPawRestore {
  const { bundle, mounts, selection, plan } = input;
  const root = mounts.find((m) => m.prefix === '')!;
  const locations = new Map<string, string>();
  for (const mount of mounts) {
    if (mount.agent === undefined || !mount.inBundle || mount.prefix !== `workspaces/${mount.agent}`) continue;
    if (!bundleHoldsAgent(bundle, mount.agent)) continue;
    if (selection.classify(mount.prefix, true).kind === 'in_scope') locations.set(mount.agent, mount.dir);
  }

  const liveFile = path.join(root.dir, CONFIG);
  const liveText = readIfExists(liveFile);
  const liveProfiles = profilesOf(liveText === undefined ? undefined : parseJson(liveText, liveFile));
  const bundleEntry = bundle.entries.find((e) => e.path === CONFIG && e.type === 'file');
  const bundleProfiles = bundleEntry ? profilesOf(parseJson(readVerified(`${input.payloadDir}/${CONFIG}`, bundleEntry).toString('utf8'), `the snapshot's ${CONFIG}`)) : {};

  const profile = (id: string): Json => {
    const known = bundleProfiles[id] ?? liveProfiles[id];
    return { ...(isRecord(known) ? known : { id, enabled: true }), id, workspace_dir: locations.get(id)! };
  };
  let desired: Json | undefined;
  if (input.full && locations.size > 0) {
    desired = {};
    const order = [...Object.keys(bundleProfiles), ...[...locations.keys()].sort()];
    for (const id of order) if (locations.has(id) && !(id in desired)) desired[id] = profile(id);
  } else if (locations.size > 0) {
    desired = { ...liveProfiles };
    for (const id of [...locations.keys()].sort()) desired[id] = profile(id);
  }
  if (desired !== undefined) {
    const liveDirs = new Map(readQwenPawProfiles(root.dir, input.homeDir).map((p) => [p.id, p.workspaceDir]));
    for (const id of Object.keys(liveProfiles)) {
      if (id in desired) continue;
      const dir = liveDirs.get(id) ?? path.join(root.dir, 'workspaces', id);
      plan.warnings.push(`agent ${id} is not in the snapshot: dropped from config.json agents.profiles; its folder ${dir} was left in place`);
    }
  }

  const rootUnit = plan.units.findIndex((u) => u.parts.some((p) => p.prefix === '' && !p.keep));
  if (rootUnit >= 0) plan.units.push(...plan.units.splice(rootUnit, 1));

  return {
    locations,
    rewriteStaged(unit, stagedDir) {
      for (const part of unit.parts) {
        if (part.keep) continue;
        const dir = part.rel === '' ? stagedDir : `${stagedDir}/${part.rel}`;
        if (part.prefix === '' && desired !== undefined) rewriteConfig(`${dir}/${CONFIG}`, desired);
        const agent = part.prefix.startsWith('workspaces/') ? part.prefix.slice('workspaces/'.length) : undefined;
        const location = agent === undefined ? undefined : locations.get(agent);
        if (location !== undefined) rewriteAgentFile(`${dir}/${AGENT_FILE}`, agent!, location, plan.warnings);
      }
    },
  };
}

/** Whether the snapshot holds this agent's workspace (a partial snapshot lists every mount, held or not). */
function bundleHoldsAgent(bundle: BundleManifest, agent: string): boolean {
  const scope = bundle.scope;
  if (!scope.full && !scope.modules.includes('workspaces')) return false;
  return scope.agents === null || scope.agents.includes(agent);
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function rewriteConfig(file: string, profiles: Json): void {
  const text = readIfExists(file);
  const config = text === undefined ? {} : parseJson(text, `the restored ${CONFIG}`);
  const agents = isRecord(config.agents) ? config.agents : {};
  if (JSON.stringify(agents.profiles) === JSON.stringify(profiles)) return;
  config.agents = { ...agents, profiles };
  replaceStaged(file, JSON.stringify(config, null, 2) + '\n');
}

function rewriteAgentFile(file: string, agent: string, location: string, warnings: string[]): void {
  const text = readIfExists(file);
  if (text === undefined) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isRecord(value)) {
    warnings.push(`agent ${agent}: ${AGENT_FILE} is not a JSON object; its workspace_dir was not rewritten`);
    return;
  }
  if (value.workspace_dir === location) return;
  value.workspace_dir = location;
  replaceStaged(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * A staged file may be a hard link to the live one (carried over, or linked
 * because it already held the snapshot's bytes): write a new file and rename
 * it over the link, so the live inode is never touched.
 */
function replaceStaged(file: string, text: string): void {
  const mode = (fs.lstatSync(file, { throwIfNoEntry: false })?.mode ?? 0o100644) & 0o7777;
  const temp = `${file}.clawback-rewrite`;
  const fd = fs.openSync(temp, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}
