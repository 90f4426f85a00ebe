import path from 'node:path';
import type { BundleMount } from '../../manifest/bundle-manifest.js';
import { UnsafeEntryPathError } from '../../manifest/bundle-manifest.js';
import { isAgentId } from '../../manifest/agent-id.js';
import { relativePathProblem, safeJoin } from '../../fs-safety/safe-path.js';

/** A payload prefix and the host directory it is restored to. */
export interface MappedMount extends BundleMount {
  /** The bundle has this prefix (its content is restored); false for a current mount the bundle lacks (left untouched). */
  inBundle: boolean;
  /** No mount of the target has this prefix: the directory is new on this host (e.g. an agent from another machine). */
  placedNew: boolean;
}

export interface MountMapOptions {
  root: string;
  /** Where agents without a current mount go: `<newAgentRoot>/<agent>`. Default `<root>/workspaces`. */
  newAgentRoot?: string;
}

/**
 * Maps each payload prefix of the bundle to a directory on this host: the
 * target's current mount with that prefix, else (an agent not on this
 * machine) `<newAgentRoot>/<agent>`, else the same relative place under the
 * root. Current mounts the bundle does not have are listed too, so that
 * restore leaves them alone.
 */
export function mapMounts(bundleMounts: readonly BundleMount[], currentMounts: readonly BundleMount[], options: MountMapOptions): MappedMount[] {
  const bundle = bundleMounts.length > 0 ? bundleMounts : [{ prefix: '', dir: options.root }];
  const byPrefix = new Map(currentMounts.map((m) => [m.prefix, m]));
  const mapped: MappedMount[] = [];
  const seen = new Set<string>();
  for (const mount of bundle) {
    if (seen.has(mount.prefix)) throw new UnsafeEntryPathError(`the bundle lists the mount ${JSON.stringify(mount.prefix)} twice`);
    seen.add(mount.prefix);
    if (mount.prefix !== '') {
      const problem = relativePathProblem(mount.prefix);
      if (problem) throw new UnsafeEntryPathError(`bundle mount ${JSON.stringify(mount.prefix)} ${problem}`);
    }
    const current = byPrefix.get(mount.prefix);
    let dir: string;
    if (mount.prefix === '') dir = options.root;
    else if (current) dir = current.dir;
    else if (mount.agent !== undefined) {
      if (!isAgentId(mount.agent)) throw new UnsafeEntryPathError(`bundle mount ${JSON.stringify(mount.prefix)} names an invalid agent id ${JSON.stringify(mount.agent)}`);
      dir = safeJoin(options.newAgentRoot ?? path.join(options.root, 'workspaces'), mount.agent);
    } else dir = safeJoin(options.root, mount.prefix);
    const entry: MappedMount = { prefix: mount.prefix, dir: path.resolve(dir), inBundle: true, placedNew: mount.prefix !== '' && current === undefined };
    const module = current?.module ?? mount.module;
    const agent = current?.agent ?? mount.agent;
    if (module !== undefined) entry.module = module;
    if (agent !== undefined) entry.agent = agent;
    mapped.push(entry);
  }
  for (const current of currentMounts) {
    if (seen.has(current.prefix)) continue;
    mapped.push({ ...current, dir: path.resolve(current.dir), inBundle: false, placedNew: false });
  }
  return mapped;
}
