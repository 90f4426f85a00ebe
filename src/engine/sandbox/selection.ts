import { createRequire } from 'node:module';
import type Picomatch from 'picomatch';
import { UsageError } from '../../errors.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import type { BundleMount } from '../../manifest/bundle-manifest.js';

export const OTHER_MODULE = 'other';

export interface ScopeOptions {
  /** Modules to include; undefined = all. */
  only?: string[];
  /** Agent ids to include among agent-scoped paths; undefined = all. Paths of no agent are governed by `only` alone. */
  agents?: string[];
  /** Extra exclude globs from the command line. */
  excludes?: string[];
  noSecrets?: boolean;
  /** Only these paths and what lies below them (a bundle that holds just those, e.g. NemoClaw's): everything else is unselected. */
  within?: string[];
}

export type PathClass =
  | { kind: 'excluded' }
  | { kind: 'machine_local' }
  | { kind: 'unselected' }
  | { kind: 'out_of_scope'; module: string; agent: string | undefined }
  | { kind: 'secret_left_out'; module: string; agent: string | undefined }
  | { kind: 'in_scope'; module: string; agent: string | undefined };

type Matcher = (path: string) => boolean;

const GLOB_OPTIONS = { dot: true } as const;

let picomatchModule: typeof Picomatch | undefined;
/** The glob matcher, loaded on first use: `snapshot list` reads this module's kernel but matches no glob (~10 ms of load). */
function picomatch(): typeof Picomatch {
  return (picomatchModule ??= createRequire(import.meta.url)('picomatch') as typeof Picomatch);
}

function matcher(globs: string[]): Matcher {
  if (globs.length === 0) return () => false;
  return picomatch()(globs, GLOB_OPTIONS);
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + '/');
}

interface AgentPattern {
  segments: string[];
  star: number;
  before: string;
  after: string;
}

function compileAgentPattern(pattern: string): AgentPattern | undefined {
  const segments = pattern.split('/');
  const star = segments.findIndex((s) => s.includes('*'));
  if (star < 0) return undefined;
  const [before = '', after = ''] = segments[star]!.split('*');
  return { segments, star, before, after };
}

/**
 * Decides, for one payload path, whether a snapshot or restore touches it and
 * under which module and agent. Snapshot, restore and diff all use this one
 * classifier so they agree on what "in scope" means.
 */
export class Selection {
  readonly manifest: AgentManifest;
  readonly modulesKnown: string[];
  private readonly excluded: Matcher;
  private readonly excludeExcept: Matcher;
  private readonly exceptSegments: string[][];
  private readonly machineLocal: Matcher;
  private readonly userManaged: Matcher;
  private readonly moduleMatchers: Array<{ name: string; match: Matcher; secret: boolean }>;
  private readonly secretModules: Set<string>;
  private readonly agentPatterns: AgentPattern[];
  /** `!glob` items of agent_dirs: dirs a pattern would match that are not agents (e.g. Deep Agents' shared skills/). */
  private readonly notAgentDirs: Matcher;
  private readonly mountPrefixes: BundleMount[];
  private readonly only: Set<string> | undefined;
  private readonly agents: Set<string> | undefined;
  private readonly noSecrets: boolean;
  private readonly stateFiles: Set<string>;
  private readonly stateDirs: string[];
  private readonly statePrefixes: string[];
  private readonly within: string[] | undefined;

  constructor(manifest: AgentManifest, mounts: BundleMount[], scope: ScopeOptions) {
    this.manifest = manifest;
    const backupFalse = manifest.stateDirs.filter((d) => !d.backup && !d.prefix).map((d) => `${d.path}/**`);
    this.excluded = matcher([...manifest.exclude, ...backupFalse, ...(scope.excludes ?? [])]);
    this.excludeExcept = matcher(manifest.excludeExcept);
    this.exceptSegments = manifest.excludeExcept.map((glob) => glob.split('/'));
    this.machineLocal = matcher(manifest.machineLocal);
    this.userManaged = matcher(manifest.userManagedFiles);
    this.moduleMatchers = manifest.modules.map((m) => ({ name: m.name, match: matcher(m.globs), secret: m.secret }));
    this.secretModules = new Set(manifest.modules.filter((m) => m.secret).map((m) => m.name));
    for (const mount of mounts) if (mount.module === 'secrets') this.secretModules.add('secrets');
    this.agentPatterns = manifest.agentDirs.filter((d) => !d.startsWith('!')).map(compileAgentPattern).filter((p): p is AgentPattern => p !== undefined);
    this.notAgentDirs = matcher(manifest.agentDirs.filter((d) => d.startsWith('!')).map((d) => d.slice(1)));
    this.mountPrefixes = mounts.filter((m) => m.prefix !== '');
    this.modulesKnown = [...new Set([...manifest.modules.map((m) => m.name), ...this.mountPrefixes.flatMap((m) => (m.module ? [m.module] : [])), OTHER_MODULE])];
    if (scope.only) {
      const unknown = scope.only.filter((m) => !this.modulesKnown.includes(m));
      if (unknown.length > 0) {
        throw new UsageError(`unknown module ${unknown.map((m) => JSON.stringify(m)).join(', ')}`, {
          hint: `modules of ${manifest.agent}: ${this.modulesKnown.join(', ')}`,
        });
      }
    }
    this.only = scope.only ? new Set(scope.only) : undefined;
    this.agents = scope.agents ? new Set(scope.agents) : undefined;
    this.noSecrets = scope.noSecrets === true;
    this.stateFiles = new Set(manifest.stateFiles.map((f) => f.path));
    this.stateDirs = manifest.stateDirs.filter((d) => !d.prefix && d.backup).map((d) => d.path);
    this.statePrefixes = manifest.stateDirs.filter((d) => d.prefix && d.backup).map((d) => d.path);
    this.within = scope.within;
  }

  isSecretModule(module: string): boolean {
    return this.secretModules.has(module);
  }

  isUserManaged(path: string): boolean {
    return this.userManaged(path);
  }

  /** `isDir` matters for a path that is itself an agent dir: a file with a matching name is no agent. */
  moduleOf(path: string, isDir = true): { module: string; agent: string | undefined } {
    for (const mount of this.mountPrefixes) {
      if (under(path, mount.prefix)) return { module: mount.module ?? OTHER_MODULE, agent: mount.agent };
    }
    const agent = this.agentOf(path, isDir);
    for (const m of this.moduleMatchers) if (m.match(path)) return { module: m.name, agent };
    return { module: OTHER_MODULE, agent };
  }

  private agentOf(path: string, isDir: boolean): string | undefined {
    const segments = path.split('/');
    for (const pattern of this.agentPatterns) {
      if (segments.length <= pattern.star) continue;
      if (segments.length === pattern.star + 1 && !isDir) continue;
      let ok = true;
      for (let i = 0; i < pattern.star; i++) if (segments[i] !== pattern.segments[i]) ok = false;
      const segment = segments[pattern.star]!;
      if (!ok || !segment.startsWith(pattern.before) || !segment.endsWith(pattern.after)) continue;
      // As in a glob, `*` does not match a leading dot: `.state/` is never an agent of pattern `*`.
      if (segment.startsWith('.') && !pattern.before.startsWith('.')) continue;
      if (this.notAgentDirs(segments.slice(0, pattern.star + 1).join('/'))) continue;
      const id = segment.slice(pattern.before.length, segment.length - pattern.after.length);
      if (id.length > 0) return id;
    }
    return undefined;
  }

  /** Selective capture: only state dirs, prefix dirs, state files and mounted prefixes are captured. */
  private selected(path: string, isDir: boolean): boolean {
    if (this.manifest.capture === 'whole') return true;
    if (this.stateFiles.has(path)) return true;
    if (this.mountPrefixes.some((m) => under(path, m.prefix))) return true;
    if (this.stateDirs.some((d) => under(path, d))) return true;
    const top = path.split('/')[0]!;
    if (this.statePrefixes.some((p) => top.startsWith(p) && (isDir || path.includes('/')))) return true;
    return false;
  }

  /** A directory to descend into even though it is not selected itself, because something selected lies below it. */
  leadsToSelected(dir: string): boolean {
    const prefix = dir + '/';
    if (this.within && !this.within.some((w) => w.startsWith(prefix) || under(dir, w))) return false;
    if (this.manifest.capture === 'whole' || this.selected(dir, true)) return true;
    return (
      [...this.stateFiles].some((f) => f.startsWith(prefix)) ||
      this.stateDirs.some((d) => d.startsWith(prefix)) ||
      this.mountPrefixes.some((m) => m.prefix.startsWith(prefix))
    );
  }

  /**
   * Whether some `exclude_except` glob could match a path below `dir`, segment by segment: an excluded
   * dir with such an exception below it is walked, and only the exceptions in it are kept.
   */
  private leadsToException(dir: string): boolean {
    const segments = dir.split('/');
    return this.exceptSegments.some((glob) => {
      for (let i = 0; i < segments.length; i++) {
        const part = glob[i];
        if (part === undefined) return false;
        if (part === '**') return true;
        if (!picomatch().isMatch(segments[i]!, part, GLOB_OPTIONS)) return false;
      }
      return glob.length > segments.length;
    });
  }

  private isExcluded(path: string): boolean {
    return this.excluded(path) && !this.excludeExcept(path);
  }

  classify(path: string, isDir: boolean): PathClass {
    if (this.isExcluded(path)) {
      // Walked like an unselected dir: recorded only if an exception below it is captured.
      return isDir && this.leadsToException(path) ? { kind: 'unselected' } : { kind: 'excluded' };
    }
    if (this.machineLocal(path)) return { kind: 'machine_local' };
    if (this.within && !this.within.some((w) => under(path, w))) return { kind: 'unselected' };
    if (!this.selected(path, isDir)) return { kind: 'unselected' };
    const { module, agent } = this.moduleOf(path, isDir);
    if (this.only && !this.only.has(module)) return { kind: 'out_of_scope', module, agent };
    if (this.agents && agent !== undefined && !this.agents.has(agent)) return { kind: 'out_of_scope', module, agent };
    if (this.noSecrets && this.secretModules.has(module)) return { kind: 'secret_left_out', module, agent };
    return { kind: 'in_scope', module, agent };
  }
}
