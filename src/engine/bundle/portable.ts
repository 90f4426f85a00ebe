import type { BundleEntry } from '../../manifest/bundle-manifest.js';

/** Host identity fields mean nothing on another machine (and could make a later snapshot link the wrong file). */
export function portableEntry(e: BundleEntry): BundleEntry {
  const { dev: _dev, ino: _ino, walSize: _walSize, walMtimeMs: _walMtimeMs, ...rest } = e;
  return rest;
}
