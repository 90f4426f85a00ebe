import type { BundleVerification, VerifySummary } from '../../engine/verify/verify.js';
import { bundleName, type JsonDocument } from './document.js';
import { formatBytes, formatDurationMs } from './format.js';

export interface BundleVerificationJson {
  id: string;
  timestamp: string;
  version: number | null;
  name: string | null;
  /** clawback-bundle/1, or nemoclaw-v1 for a bundle NemoClaw wrote; null when its manifest is unreadable. */
  format: string | null;
  /** false for a NemoClaw bundle: it records no hashes, so only readability, SQLite quick_check and links were checked. */
  hashes: boolean;
  ok: boolean;
  files: number;
  bytes: number;
  problems: Array<{ path: string; problem: string }>;
  durationMs: number;
}

export interface VerifyDocument extends JsonDocument {
  sandbox: string;
  ok: boolean;
  bundles: BundleVerificationJson[];
  /** `.partial` bundles being written right now (their sandbox is locked by a live clawback): not checked, not damage. */
  inProgress: string[];
  files: number;
  bytes: number;
  threads: number;
  durationMs: number;
}

const MAX_LISTED = 50;

function bundleJson(b: BundleVerification): BundleVerificationJson {
  return {
    id: b.id,
    timestamp: b.timestamp,
    version: b.version,
    name: b.name,
    format: b.format,
    hashes: b.hashes,
    ok: b.ok,
    files: b.files,
    bytes: b.bytes,
    problems: b.problems.map((p) => ({ path: p.path, problem: p.problem })),
    durationMs: b.durationMs,
  };
}

export function json(s: VerifySummary): VerifyDocument {
  return { schemaVersion: 1, sandbox: s.sandbox, ok: s.ok, bundles: s.bundles.map(bundleJson), inProgress: s.inProgress, files: s.files, bytes: s.bytes, threads: s.threads, durationMs: s.durationMs };
}

export function text(summary: VerifySummary): string[] {
  const lines: string[] = [];
  for (const bundle of summary.bundles) {
    const label = bundleName(bundle);
    const legacy = bundle.hashes ? '' : ` (NemoClaw bundle, ${bundle.format}: it has no hashes, so files were checked for readability, SQLite quick_check and safe links only)`;
    if (bundle.ok) {
      lines.push(`✓ ${label}: ${bundle.files} files, ${formatBytes(bundle.bytes)} ok${legacy}`);
      continue;
    }
    if (legacy !== '') lines.push(`  ${label}${legacy}`);
    lines.push(`✗ ${label}: ${bundle.problems.length} problem${bundle.problems.length === 1 ? '' : 's'}`);
    for (const p of bundle.problems.slice(0, MAX_LISTED)) lines.push(`    ${p.path === '' ? '(bundle)' : p.path}: ${p.problem}`);
    if (bundle.problems.length > MAX_LISTED) lines.push(`    ... and ${bundle.problems.length - MAX_LISTED} more (--json lists every one)`);
  }
  for (const id of summary.inProgress) lines.push(`… ${id}: in progress (another clawback is writing it), not checked`);
  const seconds = summary.durationMs / 1000;
  const rate = seconds > 0 ? `, ${formatBytes(Math.round(summary.bytes / seconds))}/s` : '';
  lines.push(`${summary.bundles.length} snapshot(s), ${summary.files} files, ${formatBytes(summary.bytes)} checked in ${formatDurationMs(summary.durationMs)}${rate}`);
  return lines;
}

/** The damage, for the error verify exits with (6). */
export function damageMessage(summary: VerifySummary): string {
  const damaged = summary.bundles.filter((b) => !b.ok);
  const problems = damaged.reduce((sum, b) => sum + b.problems.length, 0);
  return `${problems} problem${problems === 1 ? '' : 's'} in ${damaged.length} of ${summary.bundles.length} snapshot(s) of ${summary.sandbox}`;
}
