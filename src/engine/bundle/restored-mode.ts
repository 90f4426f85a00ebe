import type { BundleEntry } from '../../manifest/bundle-manifest.js';

/**
 * The permission bits a restore gives a bundle entry. Secrets are tightened to 0600 (files) and
 * 0700 (directories) whatever they had when captured. The bundle keeps the mode it found (it is the
 * record of what was there); a comparison with the live state that a restore produced (diff) uses
 * this rule, so the tightening does not show as a change.
 */
export function restoredMode(entry: Pick<BundleEntry, 'type' | 'mode'>, secret: boolean): number {
  if (secret) return entry.type === 'dir' ? 0o700 : 0o600;
  const fallback = entry.type === 'dir' ? 0o755 : 0o644;
  return (entry.mode ?? fallback) & 0o777;
}
