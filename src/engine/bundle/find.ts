import { listBundles, type BundleRecord, type LegacyReader } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { resolveSelector } from '../../store/selector.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { Selection } from '../sandbox/selection.js';
import { nemoclawInventory, nemoclawTotals, type ModuleOf } from './nemoclaw.js';

/** NemoClaw bundles read in place; their files are placed in modules by the sandbox's agent manifest, as a snapshot would place them. */
function legacyReader(entry: SandboxEntry, deps: EngineDeps): LegacyReader {
  let moduleOf: ModuleOf | undefined;
  return {
    totals: nemoclawTotals,
    inventory(dir, header, manifest) {
      if (moduleOf === undefined) {
        const agentManifest = loadAgentManifest(entry.agent);
        const selection = new Selection(agentManifest, resolveMounts(entry, agentManifest, deps.host.homeDir), {});
        moduleOf = (p) => selection.moduleOf(p);
      }
      return nemoclawInventory(dir, header, manifest, moduleOf);
    },
  };
}

/** Every bundle of a registered sandbox, oldest first; fails when the sandbox is not registered. */
export function sandboxRecords(sandbox: string, deps: EngineDeps): BundleRecord[] {
  const entry = getSandbox(deps.layout, sandbox);
  return listBundles(sandboxBundleDir(deps.layout, sandbox), legacyReader(entry, deps));
}

export function findSnapshot(sandbox: string, selector: string, deps: EngineDeps): BundleRecord {
  return resolveSelector(sandboxRecords(sandbox, deps), selector, sandbox);
}
