import fs from 'node:fs';
import path from 'node:path';
import { readRegistry, type SandboxEntry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { addSandbox } from './sandbox.js';

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
    const options = home.secretsRoot ? { agent: home.agent, root: home.root, secretsRoot: home.secretsRoot } : { agent: home.agent, root: home.root };
    addSandbox(name, options, '/', deps);
    names.add(name);
    added.push({ ...home, registeredAs: name });
  }
  return added;
}
