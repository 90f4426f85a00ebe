import { MANIFEST_FILE, PAYLOAD_DIR, serializeBundleHeader, type BundleHeader, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { INVENTORY_FILE } from '../../manifest/inventory.js';
import type { Inventory } from '../../store/inventory-reader.js';
import { InventoryWriter, type InventorySummary } from '../../store/inventory-writer.js';
import { completeHeader } from '../bundle/complete-manifest.js';
import { portableEntry } from '../bundle/portable.js';
import { SECRETS_LEFT_OUT, type ArchivePlan } from './export-plan.js';
import { tarEntryName, tarText } from './tar-names.js';

/** What the first read of the snapshot's inventory found: the archive's own inventory (compressed), and what it left out. */
interface TarInventory {
  bytes: Buffer;
  summary: InventorySummary;
  dropped: SkippedEntry[];
  /** Whether the snapshot holds a file of a secrets module (kept or not). */
  hasSecrets: boolean;
  /** The stateFiles whose path the archive keeps. */
  keptStateFiles: Set<string>;
}

/**
 * The archive's inventory, written (gzipped, in memory) as the snapshot's inventory is read once:
 * its entries minus the secrets left out, host-only fields dropped; the reader's checks run on the way.
 */
function archiveInventory(header: BundleHeader, inventory: Inventory, dropModule: (module: string) => boolean, secretModules: Set<string>): TarInventory {
  const writer = new InventoryWriter(undefined);
  const dropped: SkippedEntry[] = [];
  const stateFiles = new Set(header.stateFiles.map((f) => f.path));
  const keptStateFiles = new Set<string>();
  let hasSecrets = false;
  for (const e of inventory.entries()) {
    if (e.type !== 'dir' && secretModules.has(e.module)) hasSecrets = true;
    if (!dropModule(e.module)) {
      writer.add(portableEntry(e));
      if (stateFiles.has(e.path)) keptStateFiles.add(e.path);
    } else if (e.type !== 'dir') dropped.push({ path: e.path, reason: SECRETS_LEFT_OUT });
  }
  for (const item of [...inventory.skipped, ...dropped]) writer.addSkipped(item);
  const summary = writer.finish();
  return { bytes: writer.bytes(), summary, dropped, hasSecrets, keptStateFiles };
}

/**
 * The header that travels in a tar: the snapshot's own, minus what was left out, and the
 * snapshot's identity recorded so an import can tell it was seen.
 */
function derivedHeader(header: BundleHeader, read: TarInventory, keepSecrets: boolean, secretModules: Set<string>): BundleHeader {
  const leftOutSecrets = !keepSecrets && read.dropped.length > 0;
  return completeHeader(
    {
      ...header,
      stateFiles: header.stateFiles.filter((f) => read.keptStateFiles.has(f.path)),
      includesSecrets: keepSecrets && header.includesSecrets,
      scope: {
        ...header.scope,
        includesSecrets: keepSecrets && header.scope.includesSecrets,
        modules: keepSecrets ? header.scope.modules : header.scope.modules.filter((m) => !secretModules.has(m)),
      },
      mounts: leftOutSecrets ? header.mounts.filter((m) => !(m.module !== undefined && secretModules.has(m.module))) : header.mounts,
      origin: { ...header.origin, clawbackId: header.origin?.clawbackId ?? `${header.sandboxName}@${header.timestamp}` },
    },
    read.summary,
  );
}

/**
 * clawback's tar: the manifest's header first, then its inventory sidecar, then `payload/...` in
 * inventory order. The snapshot's inventory is read one entry at a time, twice (once for the
 * archive's inventory and header, which come first, then for the payload), never held whole.
 */
export function planTar(header: BundleHeader, inventory: Inventory, keepSecrets: boolean, secretModules: Set<string>, time: Date): ArchivePlan {
  const dropModule = (module: string): boolean => !keepSecrets && secretModules.has(module);
  const read = archiveInventory(header, inventory, dropModule, secretModules);
  const { ref, contentSha256, totals } = read.summary;
  const manifestBytes = Buffer.from(serializeBundleHeader(derivedHeader(header, read, keepSecrets, secretModules), ref, contentSha256), 'utf8');
  return {
    kind: 'tar',
    fileCount: totals.files,
    fileBytes: totals.bytes,
    secrets: { has: read.hasSecrets, dropped: read.dropped.length },
    leftOut: read.dropped,
    warnings: [],
    qwenpawId: null,
    output: undefined,
    *entries(reader) {
      yield { name: MANIFEST_FILE, type: 'file', buffer: manifestBytes, mode: 0o600, mtime: time };
      yield { name: INVENTORY_FILE, type: 'file', buffer: read.bytes, mode: 0o600, mtime: time };
      yield { name: PAYLOAD_DIR, type: 'directory', mode: 0o700, mtime: time };
      for (const e of inventory.entries()) {
        if (dropModule(e.module)) continue;
        const name = tarEntryName(e.path);
        if (e.type === 'dir') yield { name, type: 'directory', mode: e.mode ?? 0o755, mtime: time };
        else if (e.type === 'symlink') yield { name, type: 'symlink', linkTarget: tarText(e.target!), mode: 0o777, mtime: time };
        else yield { name, type: 'file', ...reader.content(e, true), mode: e.mode ?? 0o644, mtime: e.mtimeMs ?? time };
      }
    },
  };
}
