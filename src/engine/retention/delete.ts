import { listBundles, type BundleRecord } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { resolveSelector } from '../../store/selector.js';
import type { EngineDeps } from '../deps.js';
import { sandboxLock } from '../sandbox/lock.js';
import { describeBundle, freedBy, removeBundles, sweepLeftovers, type DeletedBundle } from '../bundle/remove.js';

export type { DeletedBundle } from '../bundle/remove.js';

export interface DeleteRequest {
  sandbox: string;
  /** Selectors as for every command; partial and corrupt bundles by their exact directory name. */
  selectors: string[];
}

export interface DeleteSummary {
  sandbox: string;
  deleted: DeletedBundle[];
  /** Payload bytes no other bundle holds, now free (from the manifests; partial bundles not counted). */
  freedBytes: number;
}

/** What `delete` would remove, resolved without the lock (for a confirmation prompt). */
export function planDelete(request: DeleteRequest, deps: EngineDeps): DeletedBundle[] {
  getSandbox(deps.layout, request.sandbox);
  const records = listBundles(sandboxBundleDir(deps.layout, request.sandbox));
  return resolveAll(records, request).map(describeBundle);
}

/**
 * Delete bundles under the sandbox lock. Every selector is resolved before anything is
 * removed, so one typo deletes nothing. Each bundle is first renamed to a hidden
 * `.deleting-<id>` name (never listed, so never seen half-deleted), then removed. A file
 * hard-linked into another bundle survives there: removing a bundle only drops its links.
 */
export function deleteSnapshots(request: DeleteRequest, deps: EngineDeps): DeleteSummary {
  getSandbox(deps.layout, request.sandbox);
  const lock = sandboxLock(deps, request.sandbox, 'snapshot delete', 'no-sweep');
  try {
    const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
    const records = listBundles(sandboxDir);
    const targets = resolveAll(records, request);
    // After resolving, so a `.partial` named on the command line is deleted (and reported) as asked.
    sweepLeftovers(sandboxDir, deps, (name) => targets.some((t) => t.id === name));
    const freedBytes = freedBy(records, targets, sandboxDir);
    removeBundles(sandboxDir, targets, deps);
    return { sandbox: request.sandbox, deleted: targets.map(describeBundle), freedBytes };
  } finally {
    lock.release();
  }
}

function resolveAll(records: BundleRecord[], request: DeleteRequest): BundleRecord[] {
  const chosen = new Map<string, BundleRecord>();
  for (const selector of request.selectors) {
    const record = resolveSelector(records, selector, request.sandbox);
    chosen.set(record.id, record);
  }
  return [...chosen.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

