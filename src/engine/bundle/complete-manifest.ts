import { BUNDLE_FORMAT, BUNDLE_VERSION, contentSha256, type BundleManifest } from '../../manifest/bundle-manifest.js';

/** What a bundle's writer decides; the rest of the manifest follows from its entries. */
export type ManifestDraft = Omit<BundleManifest, 'version' | 'format' | 'modules' | 'totals' | 'contentSha256'>;

/**
 * The manifest every writer publishes (create, export, import): this format and version, and
 * what follows from the entries (modules, totals, contentSha256) computed here, once. Keys are
 * laid out in the schema's order, so the serialised header reads the same whoever wrote it.
 */
export function completeManifest(draft: ManifestDraft): BundleManifest {
  const { entries } = draft;
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    files++;
    bytes += entry.size ?? 0;
  }
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
    modules: [...new Set(entries.map((e) => e.module))].sort(),
    ...(draft.modulesExpected !== undefined ? { modulesExpected: draft.modulesExpected } : {}),
    ...(draft.databases !== undefined ? { databases: draft.databases } : {}),
    includesSecrets: draft.includesSecrets,
    policyPresets: draft.policyPresets,
    customPolicies: draft.customPolicies,
    backupComplete: draft.backupComplete,
    scope: draft.scope,
    mounts: draft.mounts,
    ...(draft.origin !== undefined ? { origin: draft.origin } : {}),
    entries,
    skipped: draft.skipped,
    totals: { files, bytes },
    contentSha256: contentSha256(entries),
  };
}
