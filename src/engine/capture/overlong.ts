import type { ScanResult } from '../sandbox/scan.js';

/** Linux's PATH_MAX counts the terminating NUL: a path may hold 4095 bytes. */
const PATH_MAX_BYTES = 4095;
/** A restore stages a root beside itself (`<root>.clawback-stage-<timestamp>`, 40 bytes more): room for that. */
const STAGE_MARGIN = 64;

export const OVERLONG_REASON = 'path too long';

/**
 * Node's fs has no *at() calls and the engine may not chdir, so a file whose path (live, in the
 * bundle, or in a restore's staging tree) is longer than the system allows is not captured: it is
 * taken out of the scan and listed as skipped by name, so the snapshot is partial (exit 3) and a
 * restore keeps the live file. Below a skipped directory every path is longer still, so only the
 * topmost one is listed. Returns the warnings to show.
 */
export function skipOverlongPaths(scan: ScanResult, payloadDir: string): string[] {
  const payloadBytes = Buffer.byteLength(payloadDir) + 1;
  const skippedDirs: string[] = [];
  const warnings: string[] = [];
  const list = scan.entries;
  list.retain((i) => {
    const entry = { path: list.path(i), source: list.source(i), type: list.type(i) };
    const sourceBytes = entry.source === '' ? 0 : Buffer.byteLength(entry.source) + STAGE_MARGIN;
    const bundleBytes = payloadBytes + Buffer.byteLength(entry.path);
    if (Math.max(sourceBytes, bundleBytes) <= PATH_MAX_BYTES) return true;
    if (skippedDirs.some((dir) => entry.path.startsWith(dir + '/'))) return false;
    if (entry.type === 'dir') skippedDirs.push(entry.path);
    const bytes = Math.max(Buffer.byteLength(entry.source), bundleBytes);
    scan.skipped.push({ path: entry.path, reason: `${OVERLONG_REASON} (${bytes} bytes; the system allows ${PATH_MAX_BYTES})` });
    warnings.push(`${shortened(entry.path)} is a path of ${bytes} bytes, longer than the system allows; skipped`);
    return false;
  });
  return warnings;
}

/** A path of thousands of bytes, shown by its two ends. */
function shortened(rel: string): string {
  return rel.length <= 120 ? rel : `${rel.slice(0, 60)}…${rel.slice(-60)}`;
}
