import fs from 'node:fs';
import { NotFoundError, RegistryError, UsageError } from '../errors.js';
import type { CustomPolicy } from '../manifest/bundle-manifest.js';
import { didYouMean } from '../suggest.js';
import { ensureDir, writeJsonAtomic } from './atomic.js';
import type { HomeLayout } from './home.js';
import { acquireLock, type LockHost } from './lock.js';
import { isRecord } from '../records.js';
import { COMMAND_WORDS } from './command-words.js';

export interface SandboxHooks {
  running?: string;
  stop?: string;
  start?: string;
  recreate?: string;
}

export type { CustomPolicy };

export interface SandboxEntry {
  name: string;
  /** Built-in kind or an absolute path to a YAML manifest. */
  agent: string;
  root: string;
  secretsRoot?: string;
  policyPresets: string[];
  customPolicies: CustomPolicy[];
  hooks: SandboxHooks;
  createdAt: string;
}

export interface Registry {
  version: 1;
  sandboxes: Record<string, SandboxEntry>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export { COMMAND_WORDS };

export function validateSandboxName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new UsageError(`invalid sandbox name ${JSON.stringify(name)}`, {
      hint: 'use 1–63 characters of [A-Za-z0-9._-], starting with a letter or digit',
    });
  }
  if (COMMAND_WORDS.includes(name)) {
    throw new UsageError(`${JSON.stringify(name)} cannot be a sandbox name: it is a clawback command`, {
      hint: `choose another name, e.g. ${name}-1 (reserved: ${COMMAND_WORDS.join(', ')})`,
    });
  }
}


function parseEntry(name: string, raw: unknown, file: string): SandboxEntry {
  if (!isRecord(raw)) throw new RegistryError(`${file}: entry ${name} is not an object`);
  const str = (key: string): string | undefined => (typeof raw[key] === 'string' ? (raw[key] as string) : undefined);
  const agent = str('agent');
  const root = str('root');
  if (!agent || !root) throw new RegistryError(`${file}: entry ${name} lacks agent or root`);
  const hooksRaw = isRecord(raw.hooks) ? raw.hooks : {};
  const hooks: SandboxHooks = {};
  for (const key of ['running', 'stop', 'start', 'recreate'] as const) {
    if (typeof hooksRaw[key] === 'string') hooks[key] = hooksRaw[key] as string;
  }
  const presets = Array.isArray(raw.policyPresets) ? raw.policyPresets.filter((p): p is string => typeof p === 'string') : [];
  const policies = Array.isArray(raw.customPolicies)
    ? raw.customPolicies.filter((p): p is CustomPolicy => isRecord(p) && typeof p.name === 'string' && typeof p.content === 'string')
    : [];
  const entry: SandboxEntry = {
    name,
    agent,
    root,
    policyPresets: presets,
    customPolicies: policies,
    hooks,
    createdAt: str('createdAt') ?? new Date(0).toISOString(),
  };
  const secretsRoot = str('secretsRoot');
  if (secretsRoot) entry.secretsRoot = secretsRoot;
  return entry;
}

export function readRegistry(layout: HomeLayout): Registry {
  let text: string;
  try {
    text = fs.readFileSync(layout.registry, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, sandboxes: {} };
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RegistryError(`${layout.registry} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(raw) || !isRecord(raw.sandboxes)) throw new RegistryError(`${layout.registry}: no "sandboxes" object`);
  const sandboxes: Record<string, SandboxEntry> = {};
  for (const [name, entry] of Object.entries(raw.sandboxes)) sandboxes[name] = parseEntry(name, entry, layout.registry);
  return { version: 1, sandboxes };
}

export function getSandbox(layout: HomeLayout, name: string): SandboxEntry {
  const entry = readRegistry(layout).sandboxes[name];
  if (!entry) {
    const guess = didYouMean(name, Object.keys(readRegistry(layout).sandboxes));
    throw new NotFoundError('sandbox-not-found', `no sandbox named ${JSON.stringify(name)}`, {
      hint: `${guess}see \`clawback sandbox list\`, or register it with \`clawback sandbox add\``,
    });
  }
  return entry;
}

/** Read-modify-write of sandboxes.json under the registry lock, published atomically. */
export function updateRegistry<T>(layout: HomeLayout, host: LockHost, change: (registry: Registry) => T): T {
  ensureDir(layout.home);
  const lock = acquireLock(layout.locks, '_registry', { command: 'registry', waitMs: 10_000, host });
  try {
    const registry = readRegistry(layout);
    const result = change(registry);
    writeJsonAtomic(layout.registry, registry);
    return result;
  } finally {
    lock.release();
  }
}
