import { MANIFEST_FILE, PAYLOAD_DIR, serializeBundleHeader, type BundleManifest } from '../../manifest/bundle-manifest.js';
import { INVENTORY_FILE } from '../../manifest/inventory.js';
import { writeInventory } from '../../store/inventory-writer.js';
import { completeManifest } from '../bundle/complete-manifest.js';
import { portableEntry } from '../bundle/portable.js';
import type { ArchivePlan, Selected } from './export-plan.js';
import { tarEntryName, tarText } from './tar-names.js';

/**
 * The manifest that travels in a tar: the snapshot's own, minus what was left
 * out, with host-only fields dropped
 * and the snapshot's identity recorded so an import can tell it was seen.
 */
function derivedManifest(bundle: BundleManifest, selected: Selected, keepSecrets: boolean, secretModules: Set<string>): BundleManifest {
  const entries = selected.entries.map(portableEntry);
  const kept = new Set(entries.map((e) => e.path));
  const leftOutSecrets = !keepSecrets && selected.dropped.length > 0;
  return completeManifest({
    ...bundle,
    stateFiles: bundle.stateFiles.filter((f) => kept.has(f.path)),
    includesSecrets: keepSecrets && bundle.includesSecrets,
    scope: {
      ...bundle.scope,
      includesSecrets: keepSecrets && bundle.scope.includesSecrets,
      modules: keepSecrets ? bundle.scope.modules : bundle.scope.modules.filter((m) => !secretModules.has(m)),
    },
    mounts: leftOutSecrets ? bundle.mounts.filter((m) => !(m.module !== undefined && secretModules.has(m.module))) : bundle.mounts,
    origin: { ...bundle.origin, clawbackId: bundle.origin?.clawbackId ?? `${bundle.sandboxName}@${bundle.timestamp}` },
    entries,
    skipped: [...bundle.skipped, ...selected.dropped],
  });
}

/** clawback's tar: the manifest's header first, then its inventory sidecar, then `payload/...` in manifest order. */
export function planTar(bundle: BundleManifest, selected: Selected, keepSecrets: boolean, secretModules: Set<string>, time: Date): ArchivePlan {
  const manifest = derivedManifest(bundle, selected, keepSecrets, secretModules);
  const { entries, skipped, contentSha256: _sum, inventory: _ref, ...header } = manifest;
  const inventory = writeInventory(undefined, entries, skipped);
  const manifestBytes = Buffer.from(serializeBundleHeader(header, inventory.ref, inventory.contentSha256), 'utf8');
  return {
    kind: 'tar',
    files: manifest.entries.filter((e) => e.type === 'file'),
    leftOut: selected.dropped,
    warnings: [],
    qwenpawId: null,
    output: undefined,
    *entries(reader) {
      yield { name: MANIFEST_FILE, type: 'file', buffer: manifestBytes, mode: 0o600, mtime: time };
      yield { name: INVENTORY_FILE, type: 'file', buffer: inventory.bytes, mode: 0o600, mtime: time };
      yield { name: PAYLOAD_DIR, type: 'directory', mode: 0o700, mtime: time };
      for (const e of manifest.entries) {
        const name = tarEntryName(e.path);
        if (e.type === 'dir') yield { name, type: 'directory', mode: e.mode ?? 0o755, mtime: time };
        else if (e.type === 'symlink') yield { name, type: 'symlink', linkTarget: tarText(e.target!), mode: 0o777, mtime: time };
        else yield { name, type: 'file', ...reader.content(e, true), mode: e.mode ?? 0o644, mtime: e.mtimeMs ?? time };
      }
    },
  };
}
