import type { SandboxStatus, StatusResult } from '../../engine/inspect/status.js';
import type { RunFailure, RunSuccess } from '../../store/run-record.js';
import { refJson, refText, type SnapshotRefJson } from './browse.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';
import { printable, wrapLines, type TextView } from './terminal-text.js';

export interface RunSuccessJson {
  at: string;
  command: 'snapshot create' | 'backup-all';
  snapshot: string;
  label: string | null;
}

export interface RunFailureJson {
  at: string;
  command: 'snapshot create' | 'backup-all';
  code: string;
  exitCode: number;
  message: string;
  snapshot: string | null;
}

export interface SandboxStatusJson {
  sandbox: string;
  lastSnapshot: SnapshotRefJson | null;
  ageMs: number | null;
  lastSuccess: RunSuccessJson | null;
  lastFailure: RunFailureJson | null;
  recordProblem: string | null;
  snapshots: number;
  incomplete: number;
  diskBytes: number;
  stale: boolean;
}

export interface StatusDocument extends JsonDocument {
  home: string;
  now: string;
  maxAgeMs: number | null;
  sandboxes: SandboxStatusJson[];
}

const successJson = (s: RunSuccess): RunSuccessJson => ({ at: s.at, command: s.command, snapshot: s.snapshot, label: s.label });
const failureJson = (f: RunFailure): RunFailureJson => ({ at: f.at, command: f.command, code: f.code, exitCode: f.exitCode, message: f.message, snapshot: f.snapshot });

export function json(result: StatusResult): StatusDocument {
  return {
    schemaVersion: 1,
    home: result.home,
    now: result.now,
    maxAgeMs: result.maxAgeMs,
    sandboxes: result.sandboxes.map((s) => ({
      sandbox: s.sandbox,
      lastSnapshot: s.lastSnapshot === null ? null : refJson(s.lastSnapshot),
      ageMs: s.ageMs,
      lastSuccess: s.lastSuccess === null ? null : successJson(s.lastSuccess),
      lastFailure: s.lastFailure === null ? null : failureJson(s.lastFailure),
      recordProblem: s.recordProblem,
      snapshots: s.snapshots,
      incomplete: s.incomplete,
      diskBytes: s.diskBytes,
      stale: s.stale,
    })),
  };
}

/** "3d 4h", "2h 0m", "45m 3s", "30s": an age at a glance, the largest unit and the one below it. */
export function formatAge(ms: number): string {
  if (ms < 0) return 'in the future';
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  const first = units.findIndex(([, size]) => ms >= size);
  if (first < 0 || first === units.length - 1) return `${Math.floor(ms / 1000)}s`;
  const [unit, size] = units[first]!;
  const [nextUnit, nextSize] = units[first + 1]!;
  return `${Math.floor(ms / size)}${unit} ${Math.floor((ms % size) / nextSize)}${nextUnit}`;
}

function when(at: string, now: Date): string {
  const ms = now.getTime() - new Date(at).getTime();
  return `${at.slice(0, 16).replace('T', ' ')}Z (${formatAge(ms)} ago)`;
}

function sandboxLines(s: SandboxStatus, now: Date): string[] {
  const last = s.lastSnapshot === null ? 'no snapshot' : `last snapshot ${refText(s.lastSnapshot)}, ${formatAge(s.ageMs ?? 0)} old`;
  const lines = [`${s.sandbox}: ${last}${s.stale ? '  STALE' : ''}`];
  lines.push(`  ${s.snapshots} snapshot(s)${s.incomplete > 0 ? ` (+${s.incomplete} incomplete)` : ''}, ${formatBytes(s.diskBytes)} on disk`);
  lines.push(`  last success: ${s.lastSuccess === null ? 'none recorded' : `${when(s.lastSuccess.at, now)} by ${s.lastSuccess.command}`}`);
  lines.push(`  last failure: ${s.lastFailure === null ? 'none recorded' : `${when(s.lastFailure.at, now)} by ${s.lastFailure.command}: ${s.lastFailure.message}`}`);
  if (s.recordProblem !== null) lines.push(`  run record unreadable: ${s.recordProblem}`);
  return lines;
}

export function text(result: StatusResult, view: TextView): string[] {
  const now = new Date(result.now);
  return wrapLines(result.sandboxes.flatMap((s) => sandboxLines(s, now)).map(printable), view);
}

export function staleNames(result: StatusResult): string[] {
  return result.sandboxes.filter((s) => s.stale).map((s) => s.sandbox);
}
