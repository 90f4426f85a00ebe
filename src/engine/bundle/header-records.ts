import { listBundles, type BundleRecord, type LegacyReader } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { nemoclawTotals } from './nemoclaw.js';

/**
 * A NemoClaw bundle's totals (from a walk of its files), but no inventory: placing its files in
 * modules takes the sandbox's agent manifest and a selection (sandboxRecords in find.ts), which a
 * reader that never reads such an inventory need not load.
 */
const TOTALS_ONLY: LegacyReader = {
  totals: nemoclawTotals,
  inventory: () => {
    throw new Error("a NemoClaw bundle's inventory is read through sandboxRecords (find.ts)");
  },
};

/**
 * Every bundle of a registered sandbox, oldest first, as sandboxRecords gives them, for readers
 * that take a NemoClaw bundle's totals and walk its files themselves (list, verify) and never ask
 * for its inventory; fails when the sandbox is not registered.
 */
export function headerRecords(sandbox: string, deps: EngineDeps): BundleRecord[] {
  getSandbox(deps.layout, sandbox);
  return listBundles(sandboxBundleDir(deps.layout, sandbox), TOTALS_ONLY);
}
