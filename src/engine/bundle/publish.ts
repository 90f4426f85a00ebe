import fs from 'node:fs';
import path from 'node:path';
import { ClawbackError, IntegrityError } from '../../errors.js';
import { MANIFEST_FILE, parseBundleHeader, serializeBundleHeader, type BundleHeader, type BundleManifest } from '../../manifest/bundle-manifest.js';
import { fsyncDir, syncTree, writeFileAtomic } from '../../store/atomic.js';
import { writeInventory, type InventorySummary } from '../../store/inventory-writer.js';
import { syncfs } from '../../store/syncfs.js';
import type { EngineDeps } from '../deps.js';

/**
 * Publishes a bundle staged in `partialDir` (`<sandbox dir>/<timestamp>.partial`) whose inventory
 * sidecar is already written there: its header written atomically, the tree made durable, the
 * directory renamed to `<timestamp>` and the sandbox dir synced. Returns the bundle's directory.
 * `verb` names the fault points.
 */
export function publishBundle(partialDir: string, header: BundleHeader, inventory: InventorySummary, deps: EngineDeps, verb: 'create' | 'import'): string {
  const sandboxDir = path.dirname(partialDir);
  const dir = path.join(sandboxDir, header.timestamp);
  deps.fault?.(`${verb}:before-manifest`);
  writeFileAtomic(path.join(partialDir, MANIFEST_FILE), readableHeader(header, inventory, dir), 0o600);
  deps.fault?.(`${verb}:manifest-written`);
  syncTree(partialDir, syncfs);
  deps.fault?.(`${verb}:before-rename`);
  fs.renameSync(partialDir, dir);
  deps.fault?.(`${verb}:renamed`);
  fsyncDir(sandboxDir);
  deps.fault?.(`${verb}:synced`);
  return dir;
}

/** publishBundle for a writer that holds its whole manifest (import): the inventory is written from it first. */
export function publishManifest(partialDir: string, manifest: BundleManifest, deps: EngineDeps, verb: 'create' | 'import'): string {
  const { entries, skipped, contentSha256: _sum, inventory: _ref, ...header } = manifest;
  return publishBundle(partialDir, header, writeInventory(partialDir, entries, skipped), deps, verb);
}

/**
 * The header's text, once its own reader has accepted it: a bundle that verify and restore would
 * refuse is never published (the inventory writer checked every entry the same way).
 */
function readableHeader(header: BundleHeader, inventory: InventorySummary, dir: string): string {
  const text = serializeBundleHeader({ ...header, modules: inventory.modules, totals: inventory.totals }, inventory.ref, inventory.contentSha256);
  try {
    parseBundleHeader(text, path.join(dir, MANIFEST_FILE));
  } catch (error) {
    if (!(error instanceof ClawbackError)) throw error;
    throw new IntegrityError('unreadable-manifest', `${error.message}; the bundle was not published`, {
      hint: 'nothing was written to the snapshot store; report this name as a clawback bug',
    });
  }
  return text;
}
