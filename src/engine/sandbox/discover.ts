import fs from 'node:fs';
import path from 'node:path';
import { readRegistry, type SandboxEntry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { addSandbox } from './sandbox.js';
import { formatTransportSpec, parseTransportSpec } from '../../transport/index.js';
import { withSandboxTransport } from './transport.js';

export interface DiscoverEnvironment {
  homedir: string;
  qwenpawWorkingDir?: string;
  copawWorkingDir?: string;
  qwenpawSecretDir?: string;
}

export interface FoundHome {
  name: string;
  agent: string;
  root: string;
  secretsRoot?: string;
  /** Found inside a target reached through this transport (`discover --via`). */
  via?: string;
  registeredAs: string | undefined;
}

function isDir(dir: string): boolean {
  return fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** QwenPaw's working dir: QWENPAW_WORKING_DIR, COPAW_WORKING_DIR, ~/.copaw if it exists, else ~/.qwenpaw. */
export function qwenPawWorkingDir(env: DiscoverEnvironment): string {
  if (env.qwenpawWorkingDir) return path.resolve(env.qwenpawWorkingDir);
  if (env.copawWorkingDir) return path.resolve(env.copawWorkingDir);
  const copaw = path.join(env.homedir, '.copaw');
  return isDir(copaw) ? copaw : path.join(env.homedir, '.qwenpaw');
}

/** Agent homes present on this host, and whether each is already registered. */
export function discoverHomes(env: DiscoverEnvironment, deps: EngineDeps): FoundHome[] {
  const registered = Object.values(readRegistry(deps.layout).sandboxes);
  const candidates: Array<Omit<FoundHome, 'registeredAs'>> = [
    { name: 'openclaw', agent: 'openclaw', root: path.join(env.homedir, '.openclaw') },
    { name: 'hermes', agent: 'hermes', root: path.join(env.homedir, '.hermes') },
    { name: 'deepagents', agent: 'deepagents', root: path.join(env.homedir, '.deepagents') },
  ];
  const qwenRoot = qwenPawWorkingDir(env);
  const qwen: Omit<FoundHome, 'registeredAs'> = { name: 'qwenpaw', agent: 'qwenpaw', root: qwenRoot };
  if (env.qwenpawSecretDir) qwen.secretsRoot = path.resolve(env.qwenpawSecretDir);
  candidates.push(qwen);
  return candidates
    .filter((c) => isDir(c.root))
    .map((c) => ({ ...c, registeredAs: registered.find((r: SandboxEntry) => path.resolve(r.root) === c.root)?.name }));
}

/** Register every found home that is not registered yet, under a free name. */
export function registerFound(found: FoundHome[], deps: EngineDeps): FoundHome[] {
  const names = new Set(Object.keys(readRegistry(deps.layout).sandboxes));
  const added: FoundHome[] = [];
  for (const home of found) {
    if (home.registeredAs) continue;
    let name = home.name;
    for (let i = 2; names.has(name); i++) name = `${home.name}-${i}`;
    const options = { agent: home.agent, root: home.root, ...(home.secretsRoot ? { secretsRoot: home.secretsRoot } : {}), ...(home.via !== undefined ? { via: home.via } : {}) };
    addSandbox(name, options, '/', deps);
    names.add(name);
    added.push({ ...home, registeredAs: name });
  }
  return added;
}

const REMOTE_HOMES: ReadonlyArray<[string, string]> = [['.openclaw', 'openclaw'], ['.hermes', 'hermes'], ['.deepagents', 'deepagents'], ['.copaw', 'qwenpaw'], ['.qwenpaw', 'qwenpaw']];

/**
 * Agent homes inside a target (`discover --via`): the known dirs under the target user's $HOME,
 * and under /sandbox (OpenShell's home for its sandboxes), found with one remote command.
 */
export async function discoverRemoteHomes(via: string, deps: EngineDeps): Promise<FoundHome[]> {
  const spec = parseTransportSpec(via);
  const label = formatTransportSpec(spec);
  const dirs = REMOTE_HOMES.map(([dir]) => dir).join(' ');
  const script = `for base in "$HOME" /sandbox; do [ -n "$base" ] || continue; for d in ${dirs}; do [ -d "$base/$d" ] && printf '%s\\n' "$base/$d"; done; done; exit 0`;
  const out = await withSandboxTransport({ name: `(discover via ${label})`, via: label }, deps, (transport) => transport.run(script, 'ls -d $HOME/.openclaw $HOME/.hermes …'));
  const registered = Object.values(readRegistry(deps.layout).sandboxes);
  const roots = [...new Set(out.toString('utf8').split('\n').filter((line) => line.startsWith('/')).map((line) => path.posix.normalize(line)))];
  return roots.map((root) => {
    const agent = REMOTE_HOMES.find(([dir]) => root.endsWith(`/${dir}`))![1];
    const registeredAs = registered.find((r) => r.via === label && r.root === root)?.name;
    return { name: agent, agent, root, via: label, registeredAs };
  });
}
