import { listBundles, type BundleRecord } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { resolveSelector } from '../../store/selector.js';
import type { EngineDeps } from '../deps.js';

/** Every bundle of a registered sandbox, oldest first; fails when the sandbox is not registered. */
export function sandboxRecords(sandbox: string, deps: EngineDeps): BundleRecord[] {
  getSandbox(deps.layout, sandbox);
  return listBundles(sandboxBundleDir(deps.layout, sandbox));
}

export function findSnapshot(sandbox: string, selector: string, deps: EngineDeps): BundleRecord {
  return resolveSelector(sandboxRecords(sandbox, deps), selector, sandbox);
}
