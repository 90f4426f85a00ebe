import { lockHost } from './lock.js';
import fs from 'node:fs';
import path from 'node:path';
import { RefusedError, UsageError } from '../../errors.js';
import { getSandbox, readRegistry, updateRegistry, validateSandboxName, type SandboxEntry, type SandboxHooks } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest } from './layout.js';
import { formatTransportSpec, parseTransportSpec } from '../../transport/index.js';

export interface SandboxOptions {
  agent?: string;
  root?: string;
  secretsRoot?: string;
  hooks?: SandboxHooks;
  /** `--via`: how the root is reached (SPEC §11); `local` or absent is this host. */
  via?: string;
}

/** The canonical `via` of a `--via` value (undefined for local); a bad one is a usage error. */
function normaliseVia(via: string): string | undefined {
  const spec = parseTransportSpec(via);
  return spec.kind === 'local' ? undefined : formatTransportSpec(spec);
}

/** A root on this host is resolved against the cwd; a root in a target must be absolute there. */
function normaliseRoot(root: string, remote: boolean, cwd: string, flag = '--root'): string {
  if (!remote) return path.resolve(cwd, root);
  if (!root.startsWith('/')) {
    throw new UsageError(`${flag} ${JSON.stringify(root)} must be an absolute path inside the target`, { hint: 'e.g. --root /sandbox/.openclaw (a remote path is never resolved against this host\'s directories)' });
  }
  const normal = path.posix.normalize(root).replace(/(.)\/+$/, '$1');
  if (normal === '/') throw new UsageError(`${flag} / is not a state root`, { hint: 'name the agent home inside the target, e.g. /sandbox/.openclaw' });
  return normal;
}

/** A manifest path is stored absolute so the registry means the same thing from any cwd. */
function normaliseAgent(agent: string, cwd: string): string {
  const isPath = agent.includes('/') || agent.endsWith('.yaml') || agent.endsWith('.yml');
  const value = isPath ? path.resolve(cwd, agent) : agent;
  loadAgentManifest(value);
  return value;
}

export function addSandbox(name: string, options: SandboxOptions, cwd: string, deps: EngineDeps): SandboxEntry {
  validateSandboxName(name);
  if (!options.agent || !options.root) throw new UsageError('sandbox add needs --agent and --root', { hint: 'e.g. clawback sandbox add my-assistant --agent openclaw --root ~/.openclaw' });
  const via = options.via !== undefined ? normaliseVia(options.via) : undefined;
  const entry: SandboxEntry = {
    name,
    agent: normaliseAgent(options.agent, cwd),
    root: normaliseRoot(options.root, via !== undefined, cwd),
    policyPresets: [],
    customPolicies: [],
    // An empty hook value means "no hook", as it does for `sandbox set`.
    hooks: Object.fromEntries(Object.entries(options.hooks ?? {}).filter(([, cmd]) => cmd !== undefined && cmd !== '')),
    createdAt: deps.now().toISOString(),
  };
  if (options.secretsRoot) entry.secretsRoot = normaliseRoot(options.secretsRoot, via !== undefined, cwd, '--secrets-root');
  if (via !== undefined) entry.via = via;
  return updateRegistry(deps.layout, lockHost(deps), (registry) => {
    if (registry.sandboxes[name]) {
      throw new RefusedError('sandbox-exists', `a sandbox named ${name} is already registered`, { hint: `change it with \`clawback sandbox set ${name}\`` });
    }
    registry.sandboxes[name] = entry;
    return entry;
  });
}

export function setSandbox(name: string, options: SandboxOptions, cwd: string, deps: EngineDeps): SandboxEntry {
  getSandbox(deps.layout, name);
  const agent = options.agent ? normaliseAgent(options.agent, cwd) : undefined;
  const via = options.via !== undefined ? normaliseVia(options.via) : undefined;
  return updateRegistry(deps.layout, lockHost(deps), (registry) => {
    const entry = registry.sandboxes[name];
    if (!entry) throw new UsageError(`sandbox ${name} vanished while being changed`);
    if (agent) entry.agent = agent;
    if (options.via !== undefined) {
      if (via === undefined) delete entry.via;
      else entry.via = via;
      if (via !== undefined && !options.root && !entry.root.startsWith('/')) throw new UsageError('a remote sandbox needs an absolute --root');
    }
    const remote = entry.via !== undefined;
    if (options.root) entry.root = normaliseRoot(options.root, remote, cwd);
    if (options.secretsRoot) entry.secretsRoot = normaliseRoot(options.secretsRoot, remote, cwd, '--secrets-root');
    for (const [key, value] of Object.entries(options.hooks ?? {}) as Array<[keyof SandboxHooks, string | undefined]>) {
      if (value === undefined) continue;
      if (value === '') delete entry.hooks[key];
      else entry.hooks[key] = value;
    }
    return entry;
  });
}

export function listSandboxes(deps: EngineDeps): SandboxEntry[] {
  return Object.values(readRegistry(deps.layout).sandboxes).sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function removeSandbox(name: string, deps: EngineDeps): SandboxEntry {
  const entry = getSandbox(deps.layout, name);
  updateRegistry(deps.layout, lockHost(deps), (registry) => {
    delete registry.sandboxes[name];
  });
  return entry;
}

export function rootExists(root: string): boolean {
  return fs.statSync(root, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
