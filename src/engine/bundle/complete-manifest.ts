import { BUNDLE_FORMAT, BUNDLE_VERSION, contentSha256, type BundleHeader, type BundleManifest } from '../../manifest/bundle-manifest.js';

/** What a bundle's writer decides; the rest of the manifest follows from its entries. */
export type ManifestDraft = Omit<BundleManifest, 'version' | 'format' | 'modules' | 'totals' | 'contentSha256' | 'inventory'>;

/** The same, for a writer that streams its entries into the inventory (snapshot create). */
export type HeaderDraft = Omit<ManifestDraft, 'entries' | 'skipped'>;

/** What follows from the entries, computed by whoever saw them all (completeManifest, or the inventory writer). */
export interface EntryDerived {
  modules: string[];
  totals: { files: number; bytes: number };
}

/**
 * The header every writer publishes (create, export, import): this format and version, and what
 * follows from the entries. Keys are laid out in the schema's order, so the serialised header
 * reads the same whoever wrote it.
 */
export function completeHeader(draft: HeaderDraft, derived: EntryDerived): BundleHeader {
  return {
    version: BUNDLE_VERSION,
    format: BUNDLE_FORMAT,
    tool: draft.tool,
    sandboxName: draft.sandboxName,
    timestamp: draft.timestamp,
    name: draft.name,
    agentType: draft.agentType,
    agentVersion: draft.agentVersion,
    capture: draft.capture,
    stateDirs: draft.stateDirs,
    backedUpDirs: draft.backedUpDirs,
    failedBackupDirs: draft.failedBackupDirs,
    ...(draft.degraded !== undefined && draft.degraded.length > 0 ? { degraded: draft.degraded } : {}),
    stateFiles: draft.stateFiles,
    modules: derived.modules,
    ...(draft.modulesExpected !== undefined ? { modulesExpected: draft.modulesExpected } : {}),
    ...(draft.databases !== undefined ? { databases: draft.databases } : {}),
    ...(draft.quickCheckedDatabases !== undefined && draft.quickCheckedDatabases.length > 0 ? { quickCheckedDatabases: draft.quickCheckedDatabases } : {}),
    includesSecrets: draft.includesSecrets,
    policyPresets: draft.policyPresets,
    customPolicies: draft.customPolicies,
    backupComplete: draft.backupComplete,
    scope: draft.scope,
    mounts: draft.mounts,
    ...(draft.origin !== undefined ? { origin: draft.origin } : {}),
    totals: derived.totals,
  };
}

/** The whole manifest of a writer that holds its entries (export, import), with modules, totals and contentSha256 computed here, once. */
export function completeManifest(draft: ManifestDraft): BundleManifest {
  const { entries, skipped, ...rest } = draft;
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    files++;
    bytes += entry.size ?? 0;
  }
  const { totals, ...header } = completeHeader(rest, { modules: [...new Set(entries.map((e) => e.module))].sort(), totals: { files, bytes } });
  return { ...header, entries, skipped, totals, contentSha256: contentSha256(entries) };
}
