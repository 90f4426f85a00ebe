import fs from 'node:fs';
import path from 'node:path';
import { ClawbackError, IntegrityError } from '../../errors.js';
import { MANIFEST_FILE, parseBundleManifest, serializeBundleManifest, type BundleManifest } from '../../manifest/bundle-manifest.js';
import { fsyncDir, syncTree, writeFileAtomic } from '../../store/atomic.js';
import { syncfs } from '../../store/syncfs.js';
import type { EngineDeps } from '../deps.js';

/**
 * Publishes a bundle staged in `partialDir` (`<sandbox dir>/<timestamp>.partial`): its manifest
 * written atomically, the tree made durable, the directory renamed to `<timestamp>` and the
 * sandbox dir synced. Returns the bundle's directory. `verb` names the fault points.
 */
export function publishBundle(partialDir: string, manifest: BundleManifest, deps: EngineDeps, verb: 'create' | 'import'): string {
  const sandboxDir = path.dirname(partialDir);
  const dir = path.join(sandboxDir, manifest.timestamp);
  deps.fault?.(`${verb}:before-manifest`);
  writeFileAtomic(path.join(partialDir, MANIFEST_FILE), readableManifest(manifest, dir), 0o600);
  deps.fault?.(`${verb}:manifest-written`);
  syncTree(partialDir, syncfs);
  deps.fault?.(`${verb}:before-rename`);
  fs.renameSync(partialDir, dir);
  deps.fault?.(`${verb}:renamed`);
  fsyncDir(sandboxDir);
  deps.fault?.(`${verb}:synced`);
  return dir;
}

/** The manifest's text, once its own reader has accepted it: a bundle that verify and restore would refuse is never published. */
function readableManifest(manifest: BundleManifest, dir: string): string {
  const text = serializeBundleManifest(manifest);
  try {
    parseBundleManifest(text, path.join(dir, MANIFEST_FILE));
  } catch (error) {
    if (!(error instanceof ClawbackError)) throw error;
    throw new IntegrityError('unreadable-manifest', `${error.message}; the bundle was not published`, {
      hint: 'nothing was written to the snapshot store; report this name as a clawback bug',
    });
  }
  return text;
}
