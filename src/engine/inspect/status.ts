import { NotFoundError } from '../../errors.js';
import { sandboxBundleDir } from '../../store/home.js';
import { readRunRecord, type RunFailure, type RunSuccess } from '../../store/run-record.js';
import { sandboxRecords } from '../bundle/find.js';
import { spaceCacheDir, spaceFromManifests } from '../bundle/space.js';
import type { EngineDeps } from '../deps.js';
import { listSandboxes } from '../sandbox/sandbox.js';
import { snapshotRef, type SnapshotRef } from './snapshot-ref.js';

export interface SandboxStatus {
  sandbox: string;
  /** The newest complete snapshot, whatever made it (create, backup-all, a restore's pre-restore, import). */
  lastSnapshot: SnapshotRef | null;
  /** Milliseconds since the newest complete snapshot was taken; null without one. */
  ageMs: number | null;
  lastSuccess: RunSuccess | null;
  lastFailure: RunFailure | null;
  /** The run record could not be read (it is then shown as empty). */
  recordProblem: string | null;
  snapshots: number;
  /** Incomplete or unreadable snapshot directories. */
  incomplete: number;
  /** Payload bytes on disk, a file hard-linked into several snapshots counted once. */
  diskBytes: number;
  /** With a max age: the newest snapshot is older than it, or there is none. */
  stale: boolean;
}

export interface StatusResult {
  home: string;
  now: string;
  maxAgeMs: number | null;
  sandboxes: SandboxStatus[];
}

function sandboxStatus(sandbox: string, maxAgeMs: number | undefined, deps: EngineDeps): SandboxStatus {
  const records = sandboxRecords(sandbox, deps);
  const complete = records.filter((r) => r.state === 'complete');
  const newest = complete.at(-1);
  const ageMs = newest?.time === undefined ? null : deps.now().getTime() - newest.time.getTime();
  const space = spaceFromManifests(records, spaceCacheDir(sandboxBundleDir(deps.layout, sandbox)));
  const { record, problem } = readRunRecord(deps.layout, sandbox);
  return {
    sandbox,
    lastSnapshot: newest === undefined ? null : snapshotRef(newest),
    ageMs,
    lastSuccess: record.lastSuccess,
    lastFailure: record.lastFailure,
    recordProblem: problem,
    snapshots: complete.length,
    incomplete: records.length - complete.length,
    diskBytes: space.bytes,
    stale: maxAgeMs !== undefined && (ageMs === null || ageMs > maxAgeMs),
  };
}

/** Per registered sandbox: its newest snapshot and age, the last recorded success and failure, and its disk use. */
export function sandboxesStatus(request: { maxAgeMs?: number }, deps: EngineDeps): StatusResult {
  const entries = listSandboxes(deps);
  if (entries.length === 0) {
    // A monitoring check pointed at the wrong home must not pass.
    throw new NotFoundError('no-sandboxes', `no sandbox is registered in ${deps.layout.home}`, {
      hint: `if ${deps.layout.home} is the wrong home, point CLAWBACK_HOME (or --home) at the right one; otherwise register a sandbox with \`clawback sandbox add\``,
    });
  }
  const sandboxes = entries.map((entry) => sandboxStatus(entry.name, request.maxAgeMs, deps));
  return { home: deps.layout.home, now: deps.now().toISOString(), maxAgeMs: request.maxAgeMs ?? null, sandboxes };
}
