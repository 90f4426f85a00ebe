import { createRequire } from 'node:module';
import type Picomatch from 'picomatch';
import { ClawbackError } from '../../errors.js';
import type { BundleHeader } from '../../manifest/bundle-manifest.js';
import type { BundleRecord } from '../../store/bundles.js';
import type { LatestNeed } from '../../store/selector.js';

/**
 * What a snapshot holds, as `list`, `show` and restore report it. `modules: null` means every module
 * of the agent, `agents: null` every agent; `secrets` whether its secret modules were captured.
 */
export interface SnapshotScope {
  full: boolean;
  modules: string[] | null;
  agents: string[] | null;
  secrets: boolean;
}

/** The sandbox's modules as its agent manifest defines them; undefined when the manifest cannot be read. */
export interface ModuleFacts {
  known: readonly string[];
  isSecret(module: string): boolean;
}

/**
 * A snapshot's scope from its header. A partial snapshot always records the modules it covered;
 * they read as "every module" (null) when they include every module the agent defines today.
 */
export function snapshotScope(header: BundleHeader, facts: ModuleFacts | undefined): SnapshotScope {
  const s = header.scope;
  if (s.full) return { full: true, modules: null, agents: null, secrets: s.includesSecrets };
  const everyModule = facts !== undefined && facts.known.every((m) => s.modules.includes(m));
  const modules = everyModule ? null : [...s.modules];
  const secretModuleChosen = modules === null || (facts ? modules.some((m) => facts.isSecret(m)) : header.includesSecrets);
  return { full: false, modules, agents: s.agents ? [...s.agents] : null, secrets: s.includesSecrets && secretModuleChosen };
}

let picomatchModule: typeof Picomatch | undefined;
/** The glob matcher, loaded only by a restore's --path: `snapshot list` reads this module for scopes alone. */
function picomatch(): typeof Picomatch {
  return (picomatchModule ??= createRequire(import.meta.url)('picomatch') as typeof Picomatch);
}

/** What a restore asks for: the modules (--only), agents (--agent) and paths (--path) it restores; all absent = everything. */
export interface RestoreNeed {
  only?: readonly string[];
  agents?: readonly string[];
  paths?: readonly string[];
}

/**
 * A glob without '/' matches a name at any depth, one with '/' the whole path (as `snapshot find`);
 * a path matches when it or one of its directories does, since restoring a directory restores what it holds.
 */
function pathsMatcher(globs: readonly string[]): (path: string) => boolean {
  const matchers = globs.map((g) => g.replace(/^\.\//, '').replace(/\/+$/, '')).map((g) => {
    const match = picomatch()(g, { dot: true });
    return g.includes('/') ? match : (p: string) => match(p.slice(p.lastIndexOf('/') + 1));
  });
  return (path) => {
    for (let at = path.length; at > 0; at = path.lastIndexOf('/', at - 1)) {
      const prefix = path.slice(0, at);
      if (matchers.some((m) => m(prefix))) return true;
    }
    return false;
  };
}

/** Whether a partial snapshot holds something under every glob; a damaged inventory holds nothing. */
function holdsPaths(record: BundleRecord, globs: readonly string[]): boolean {
  let paths: string[];
  try {
    paths = (record.manifest?.entries ?? []).map((e) => e.path);
  } catch (error) {
    if (error instanceof ClawbackError) return false;
    throw error;
  }
  return globs.every((glob) => paths.some(pathsMatcher([glob])));
}

function coversModules(record: BundleRecord & { header: BundleHeader }, need: RestoreNeed, facts: ModuleFacts | undefined): boolean {
  const s = record.header.scope;
  if (need.only) return need.only.every((m) => s.modules.includes(m) && (s.includesSecrets || !facts?.isSecret(m)));
  // --path alone is answered by the paths the snapshot holds, whatever its modules.
  if (need.paths) return true;
  return snapshotScope(record.header, facts).modules === null && s.includesSecrets;
}

function coversAgents(record: BundleRecord & { header: BundleHeader }, need: RestoreNeed): boolean {
  const agents = record.header.scope.agents;
  if (agents === null) return true;
  if (need.agents) return need.agents.every((a) => agents.includes(a));
  return need.paths !== undefined && need.only === undefined;
}

function describeNeed(need: RestoreNeed): string {
  const parts = [
    ...(need.only ? [`module ${need.only.join(', ')}`] : []),
    ...(need.agents ? [`agent ${need.agents.join(', ')}`] : []),
    ...(need.paths ? [`path ${need.paths.join(', ')}`] : []),
  ];
  return parts.length > 0 ? parts.join(' and ') : 'everything (a full snapshot)';
}

/**
 * What `latest` means to a restore: the newest snapshot that holds what it restores. A bare restore
 * needs a full snapshot; `--only`, `--agent` and `--path` accept a partial one that holds what they
 * name. A full snapshot covers every request (restore itself names what it does not hold).
 */
export function restoreNeed(need: RestoreNeed, facts: ModuleFacts | undefined): LatestNeed {
  const bare = need.only === undefined && need.agents === undefined && need.paths === undefined;
  return {
    describe: describeNeed(need),
    // With no full snapshot at all, a bare restore takes the newest one and says it is partial.
    fallBackToNewest: bare,
    covers(record) {
      if (record.header === undefined) return false;
      if (record.header.scope.full) return true;
      if (bare) return false;
      const withHeader = record as BundleRecord & { header: BundleHeader };
      return coversModules(withHeader, need, facts) && coversAgents(withHeader, need) && (need.paths === undefined || holdsPaths(record, need.paths));
    },
  };
}
