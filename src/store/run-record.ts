import fs from 'node:fs';
import path from 'node:path';
import { isRecord } from '../records.js';
import { ensureDir, writeJsonAtomic } from './atomic.js';
import type { HomeLayout } from './home.js';

/** The run records live beside the registry: `<home>/status/<sandbox>.json`, one small file per sandbox. */
export const RUN_RECORD_VERSION = 1;

export type RunCommand = 'snapshot create' | 'backup-all';

export interface RunSuccess {
  at: string;
  command: RunCommand;
  /** The snapshot the run made: its directory name and label. */
  snapshot: string;
  label: string | null;
}

export interface RunFailure {
  at: string;
  command: RunCommand;
  code: string;
  exitCode: number;
  message: string;
  /** An incomplete snapshot the run left, if any. */
  snapshot: string | null;
}

/** The last success and last failure of `snapshot create` and `backup-all` runs for one sandbox. */
export interface RunRecord {
  version: number;
  sandbox: string;
  lastSuccess: RunSuccess | null;
  lastFailure: RunFailure | null;
}

export function runRecordsDir(layout: HomeLayout): string {
  return path.join(layout.home, 'status');
}

export function runRecordPath(layout: HomeLayout, sandbox: string): string {
  return path.join(runRecordsDir(layout), `${sandbox}.json`);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function parseSuccess(raw: unknown): RunSuccess | null {
  if (!isRecord(raw) || str(raw.at) === undefined || str(raw.snapshot) === undefined) return null;
  return { at: raw.at as string, command: raw.command === 'backup-all' ? 'backup-all' : 'snapshot create', snapshot: raw.snapshot as string, label: str(raw.label) ?? null };
}

function parseFailure(raw: unknown): RunFailure | null {
  if (!isRecord(raw) || str(raw.at) === undefined) return null;
  return {
    at: raw.at as string,
    command: raw.command === 'backup-all' ? 'backup-all' : 'snapshot create',
    code: str(raw.code) ?? 'unknown',
    exitCode: typeof raw.exitCode === 'number' ? raw.exitCode : 1,
    message: str(raw.message) ?? '',
    snapshot: str(raw.snapshot) ?? null,
  };
}

/**
 * A sandbox's run record: an empty one when none was written yet, or a problem (a record that is
 * not JSON, or written by a newer clawback) — which status shows instead of failing.
 */
export function readRunRecord(layout: HomeLayout, sandbox: string): { record: RunRecord; problem: string | null } {
  const empty: RunRecord = { version: RUN_RECORD_VERSION, sandbox, lastSuccess: null, lastFailure: null };
  const file = runRecordPath(layout, sandbox);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { record: empty, problem: null };
    return { record: empty, problem: `${file}: ${(error as Error).message}` };
  }
  if (!isRecord(raw)) return { record: empty, problem: `${file}: not a JSON object` };
  if (typeof raw.version === 'number' && raw.version > RUN_RECORD_VERSION) return { record: empty, problem: `${file}: version ${raw.version} is newer than this clawback reads` };
  return { record: { version: RUN_RECORD_VERSION, sandbox, lastSuccess: parseSuccess(raw.lastSuccess), lastFailure: parseFailure(raw.lastFailure) }, problem: null };
}

/** Publishes the record atomically (temp, fsync, rename). */
export function writeRunRecord(layout: HomeLayout, record: RunRecord): void {
  ensureDir(runRecordsDir(layout));
  writeJsonAtomic(runRecordPath(layout, record.sandbox), record);
}
