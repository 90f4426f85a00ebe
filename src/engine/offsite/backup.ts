import { IntegrityError } from '../../errors.js';
import type { BundleRecord } from '../../store/bundles.js';
import type { EngineDeps } from '../deps.js';
import { CLAWBACK_TAG, labelTag } from './remote.js';
import type { GatedRun, Restic, ResticMessage, ResticResult, RunOptions } from './restic.js';

/** A restic snapshot a bundle is backed up against: the bundle's timestamp and restic's snapshot id. */
export interface Parent {
  timestamp: string;
  snapshotId: string;
}

export interface PushedBundle {
  timestamp: string;
  shortId: string;
  name: string | null;
  /** `pushed` now, or `present`: the repository already held it, so nothing was sent. */
  status: 'pushed' | 'present';
  snapshotId: string;
  /** restic's summary of the backup (null for a bundle already present). */
  dataAdded: number | null;
  filesNew: number | null;
  filesChanged: number | null;
  filesUnmodified: number | null;
  durationMs: number;
}

export function identity(record: BundleRecord): Pick<PushedBundle, 'timestamp' | 'shortId' | 'name'> {
  return { timestamp: record.timestamp, shortId: record.shortId, name: record.header?.name ?? null };
}

/**
 * `2026-04-21T14-11-25-795Z` → `2026-04-21 14:11:25.795`: restic's `--time` (Go's parser takes the
 * fraction though the layout has none), read as UTC (TZ=UTC). The restic snapshot then carries the
 * bundle's own time, so `forget --keep-daily` counts the days the bundles were taken, not pushed.
 */
function resticTime(timestamp: string): string {
  return timestamp.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/, '$1 $2:$3:$4.$5');
}

/**
 * One bundle's `restic backup`: its directory with relative paths, tagged, against `parent`. Gated,
 * restic starts at once and waits before reading anything (restic.ts, GatedRun) until `finish`
 * opens the gate: the caller does so only once the bundle checked clean against that same parent.
 */
export class BundleBackup {
  readonly gate: GatedRun | undefined;
  private readonly args: string[];
  private readonly started: number;
  private summary: ResticMessage | undefined;
  private statusSeen = false;
  private begun = false;

  constructor(
    private readonly sandbox: string,
    private readonly record: BundleRecord,
    readonly parent: Parent | undefined,
    private readonly restic: Restic,
    private readonly deps: EngineDeps,
    gated: boolean,
  ) {
    const label = record.header?.name;
    const args = ['backup', '--json', '--tag', CLAWBACK_TAG, '--tag', `sandbox=${sandbox}`, '--tag', `bundle=${record.timestamp}`];
    if (label) args.push('--tag', labelTag(label));
    if (parent) args.push('--parent', parent.snapshotId, '--ignore-ctime');
    args.push('--host', deps.host.hostname, '--time', resticTime(record.timestamp), '.');
    this.args = args;
    this.started = deps.clock();
    this.gate = gated ? restic.startGated(args, this.options()) : undefined;
  }

  /** Lets restic read the bundle (opens the gate, or starts restic) and gives what it pushed. */
  async finish(): Promise<PushedBundle> {
    const { record, sandbox, deps } = this;
    this.begun = true;
    deps.events.phase?.(`push ${record.id}`, record.header?.totals);
    deps.fault?.('push:before-backup');
    let done: Promise<ResticResult>;
    if (this.gate) {
      this.gate.open();
      done = this.gate.done;
    } else done = this.restic.run(this.args, this.options());
    await done;
    const summary = this.summary;
    const snapshotId = typeof summary?.snapshot_id === 'string' ? summary.snapshot_id : undefined;
    if (!summary || snapshotId === undefined) {
      throw new IntegrityError('push-unconfirmed', `restic finished the backup of ${record.id} without naming its snapshot`, {
        hint: `check \`clawback ${sandbox} snapshot list --repo ${this.restic.repo.name}\`, then push again (a bundle the repository holds is not sent twice)`,
      });
    }
    deps.fault?.('push:done');
    return {
      ...identity(record),
      status: 'pushed',
      snapshotId,
      dataAdded: numberOf(summary.data_added),
      filesNew: numberOf(summary.files_new),
      filesChanged: numberOf(summary.files_changed),
      filesUnmodified: numberOf(summary.files_unmodified),
      durationMs: deps.clock() - this.started,
    };
  }

  private options(): RunOptions {
    return {
      // Relative paths: unchanged files deduplicate across bundles and sandboxes, and a pull restores them as they were.
      cwd: this.record.dir,
      what: `backup of ${this.sandbox} ${this.record.id}`,
      onMessage: (message) => this.onMessage(message),
    };
  }

  private onMessage(message: ResticMessage): void {
    const { deps } = this;
    if (message.message_type === 'status') {
      // A held restic reports nothing that concerns the bundle; progress starts with the backup.
      if (!this.begun) return;
      deps.events.progress?.({ files: numberOf(message.files_done) ?? 0, bytes: numberOf(message.bytes_done) ?? 0 });
      if (!this.statusSeen) deps.fault?.('push:status');
      this.statusSeen = true;
    } else if (message.message_type === 'summary') this.summary = message;
    else if (message.message_type === 'error') deps.events.warning?.(`restic: ${describeError(message)}`);
  }
}

function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function describeError(message: ResticMessage): string {
  const error = message.error;
  const text = typeof error === 'object' && error !== null && 'message' in error ? String((error as { message: unknown }).message) : JSON.stringify(error);
  return `${typeof message.item === 'string' ? `${message.item}: ` : ''}${text}`;
}
