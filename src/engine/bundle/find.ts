import { ClawbackError } from '../../errors.js';
import { listBundles, type BundleRecord, type LegacyReader } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { resolveSelector } from '../../store/selector.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { Selection } from '../sandbox/selection.js';
import { nemoclawInventory, nemoclawTotals, type ModuleOf } from './nemoclaw.js';
import { restoreNeed, snapshotScope, type ModuleFacts, type RestoreNeed, type SnapshotScope } from './scope.js';

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

/**
 * The modules the sandbox's agent manifest defines (as a snapshot of it would know them), to tell a
 * partial snapshot's modules from "every module"; undefined when the manifest cannot be read now.
 */
export function sandboxModuleFacts(sandbox: string, deps: EngineDeps): ModuleFacts | undefined {
  const entry = getSandbox(deps.layout, sandbox);
  try {
    const agentManifest = loadAgentManifest(entry.agent);
    const selection = new Selection(agentManifest, resolveMounts(entry, agentManifest, deps.host.homeDir), {});
    return { known: selection.modulesKnown, isSecret: (m) => selection.isSecretModule(m) };
  } catch (error) {
    if (error instanceof ClawbackError) return undefined;
    throw error;
  }
}

/** A snapshot's scope, as `list` shows it; undefined when its header is unreadable. */
export function scopeOf(record: BundleRecord, sandbox: string, deps: EngineDeps): SnapshotScope | undefined {
  return record.header ? snapshotScope(record.header, sandboxModuleFacts(sandbox, deps)) : undefined;
}

/**
 * The snapshot a restore reads, and its scope. Here, and only here, `latest` means the newest
 * snapshot that covers the request (a full one for a bare restore); every other verb's `latest` is
 * the newest complete snapshot, partial or not (store/selector.ts).
 */
export function findRestoreSource(sandbox: string, selector: string, need: RestoreNeed, deps: EngineDeps): { record: BundleRecord; scope: SnapshotScope | undefined } {
  const facts = sandboxModuleFacts(sandbox, deps);
  const record = resolveSelector(sandboxRecords(sandbox, deps), selector, sandbox, restoreNeed(need, facts));
  return { record, scope: record.header ? snapshotScope(record.header, facts) : undefined };
}
