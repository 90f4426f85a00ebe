import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { parseAgentManifest, type AgentManifest } from '../../manifest/agent-manifest.js';
import { BUILTIN_MANIFESTS, BUILTIN_KINDS } from '../../manifest/builtin.js';
import { cachedBuiltin } from '../../manifest/builtin-cache.js';
import type { BundleMount } from '../../manifest/bundle-manifest.js';
import type { SandboxEntry } from '../../store/registry.js';
import { readQwenPawProfiles } from './qwenpaw-profiles.js';

/** Payload prefix of a separately registered secrets root, for kinds other than qwenpaw. */
export const SECRETS_MOUNT_PREFIX = '.clawback-secrets';

export function loadAgentManifest(agent: string): AgentManifest {
  const builtin = BUILTIN_MANIFESTS[agent];
  if (builtin !== undefined) return cachedBuiltin(agent, builtin) ?? parseAgentManifest(builtin, `builtin:${agent}`);
  if (!agent.endsWith('.yaml') && !agent.endsWith('.yml') && !agent.includes('/')) {
    throw new UsageError(`unknown agent kind ${JSON.stringify(agent)}`, {
      hint: `use one of ${BUILTIN_KINDS.join(', ')}, or a path to a YAML manifest`,
    });
  }
  let text: string;
  try {
    text = fs.readFileSync(agent, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read manifest ${agent}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'pass --agent with a built-in kind or an existing YAML file',
    });
  }
  return parseAgentManifest(text, agent);
}

export function isQwenPaw(manifest: AgentManifest): boolean {
  return manifest.agent === 'qwenpaw';
}

export function qwenPawSecretsDir(entry: SandboxEntry): string {
  return entry.secretsRoot ?? `${entry.root.replace(/\/+$/, '')}.secret`;
}

/**
 * Where each payload prefix lives on this host. The root is always mounted at ''.
 * QwenPaw adds one mount per agent workspace (they may live anywhere, `~` meaning homeDir) and its secrets dir.
 */
export function resolveMounts(entry: SandboxEntry, manifest: AgentManifest, homeDir: string): BundleMount[] {
  const mounts: BundleMount[] = [{ prefix: '', dir: entry.root }];
  if (isQwenPaw(manifest)) {
    for (const profile of readQwenPawProfiles(entry.root, homeDir)) {
      mounts.push({ prefix: `workspaces/${profile.id}`, dir: profile.workspaceDir, module: 'workspaces', agent: profile.id });
    }
    mounts.push({ prefix: 'secrets', dir: qwenPawSecretsDir(entry), module: 'secrets' });
  } else if (entry.secretsRoot) {
    mounts.push({ prefix: SECRETS_MOUNT_PREFIX, dir: entry.secretsRoot, module: 'secrets' });
  }
  return mounts.map((m) => ({ ...m, dir: path.resolve(m.dir) }));
}
