import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';
import path from 'node:path';
import { errnoCode, RefusedError } from '../../errors.js';
import { mergeConfigText, type MergeReport } from '../config-merge/index.js';
import type { EngineDeps } from '../deps.js';
import type { InterruptCheck } from './interrupt.js';
import type { PlanItem, PlanUnit, RestoreItem, TreeItem } from './plan.js';
import { carryEntry, linkOrCopy } from './carry-link.js';
import { stageTrees } from './carry-pool.js';
import { holdsRestoredFile, restoredFile } from './same-file.js';
import { stageFollowers } from './stage-follow.js';
import { checkVerified, copyVerified, readVerified, writeStaged } from '../bundle/checked-read.js';
import { stageBundleFile } from './stage-file.js';
import { stageOnWorkers, stageWorkerScript, type PoolRun, type StageJob } from './stage-pool.js';

export interface MergeOutcome {
  path: string;
  report: MergeReport;
}

/** Shared across the units of one restore: progress and what staging found. */
export class StageRun implements PoolRun {
  readonly merges: MergeOutcome[] = [];
  /** Payload paths of configs whose staged text is not the snapshot's (a merge wrote new text). */
  readonly rewrittenConfigs = new Set<string>();
  readonly warnings: string[] = [];
  private done = { files: 0, bytes: 0 };
  private faulted = false;

  constructor(
    private readonly deps: EngineDeps,
    private readonly faultAt: number,
    private readonly interrupt?: InterruptCheck,
  ) {}

  get signal(): AbortSignal | undefined {
    return this.deps.signal;
  }

  /** Cores another thread of this restore keeps busy meanwhile (the live hashing worker): staging leaves them to it. */
  reserved = 0;

  get parallelism(): number {
    return Math.max(1, this.deps.host.parallelism - this.reserved);
  }

  stopIfInterrupted(): void {
    this.interrupt?.check();
  }

  /** Between files: lets a Ctrl-C in, and stops staging once it came. */
  async breathe(): Promise<void> {
    await this.interrupt?.breathe();
  }

  /** One file staged; `restored` names it when its bytes were written from the bundle (for --verbose). */
  tick(bytes: number, restored?: string): void {
    if (restored !== undefined) this.deps.events.file?.(restored, 'restored');
    this.done.files++;
    this.done.bytes += bytes;
    if (!this.faulted && this.done.files >= this.faultAt) {
      this.faulted = true;
      this.deps.fault?.('restore:staging');
    }
    this.deps.events.progress?.({ ...this.done });
  }
}

function mergedText(item: Extract<PlanItem, { kind: 'restore' }>, run: StageRun): { text: Buffer | string; exact: boolean } {
  const snapshot = readVerified(item.source, item.entry);
  if (!item.merge || !item.mergeLive) return { text: snapshot, exact: true };
  let liveText: string | undefined;
  try {
    liveText = fs.readFileSync(fsPath(item.mergeLive), 'utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  return mergeWithLive(item, snapshot.toString('utf8'), liveText, run);
}

/** A config's restored text: the snapshot's merged with the live one by the item's rule (the live side read by the caller, here or in a remote target). */
export function mergeWithLive(item: RestoreItem, snapshotText: string, liveText: string | undefined, run: Pick<StageRun, 'merges' | 'rewrittenConfigs'>): { text: string; exact: boolean } {
  const result = mergeConfigText(item.merge!, item.entry.path, liveText, snapshotText, item.mergeAt);
  run.merges.push({ path: item.entry.path, report: result.report });
  const exact = result.text === snapshotText;
  if (!exact) run.rewrittenConfigs.add(item.entry.path);
  return { text: result.text, exact };
}

async function writeRestored(item: Extract<PlanItem, { kind: 'restore' }>, dest: string, run: StageRun): Promise<void> {
  const entry = item.entry;
  if (entry.type === 'symlink') {
    fs.symlinkSync(fsPath(entry.target!), fsPath(dest));
    return;
  }
  if (item.merge && item.mergeLive && entry.strategy !== 'sqlite_backup') {
    const { text, exact } = mergedText(item, run);
    writeStaged(dest, text, item.mode, exact ? entry.mtimeMs : undefined);
  } else {
    await stageBundleFile(item.source, dest, entry, item.mode);
  }
  run.tick(entry.size ?? 0, entry.path);
}

/**
 * Phase 1 of staging: create the staged tree's directories and write every
 * bundle entry into it, verifying each file against the manifest as it is
 * copied. Live state is only read (config merges). Carried-over live entries
 * come in phase 2, after the pre-restore snapshot, so that snapshot does not
 * see them as hard-linked files.
 */
export async function stageFromBundle(unit: PlanUnit, stageDir: string, run: StageRun): Promise<void> {
  fs.mkdirSync(stageDir, { mode: 0o700 });
  const jobs = pooledJobs(unit, stageDir);
  const script = stageWorkerScript(jobs, run);
  for (const item of unit.items) {
    await run.breathe();
    if (item.kind === 'carry' || item.kind === 'tree' || (item.kind === 'restore' && (item.linkCandidate || item.follows))) continue;
    const dest = stagedPath(stageDir, item.rel);
    if (item.kind === 'dir') fs.mkdirSync(fsPath(dest), { mode: 0o700 });
    else if (script === undefined || !pooled(item)) await writeRestored(item, dest, run);
  }
  // Every directory exists now; the workers write the files below them.
  if (script !== undefined) await stageOnWorkers(script, jobs, run);
  await stageFollowers(unit, stageDir, run);
}

/** A plain bundle file or database: written the same way on any thread (symlinks and merged configs are written here). */
function pooled(item: PlanItem): item is RestoreItem {
  return item.kind === 'restore' && !item.linkCandidate && !item.follows && item.entry.type === 'file' && !(item.merge && item.mergeLive && item.entry.strategy !== 'sqlite_backup');
}

function pooledJobs(unit: PlanUnit, stageDir: string): StageJob[] {
  return unit.items.filter(pooled).map((item) => ({ source: item.source, dest: stagedPath(stageDir, item.rel), entry: item.entry, mode: item.mode }));
}

/** Phase 1b: live files that turned out not to hold the snapshot's bytes get the bundle's copy, verified like the rest of phase 1. */
export async function stageMismatched(unit: PlanUnit, stageDir: string, run: StageRun, verifiedLive: ReadonlySet<string>): Promise<void> {
  for (const item of unit.items) {
    if (item.kind !== 'restore' || !item.linkCandidate || verifiedLive.has(item.linkCandidate)) continue;
    await run.breathe();
    copyVerified(item.source, stagedPath(stageDir, item.rel), item.entry, item.mode);
    run.tick(item.entry.size ?? 0, item.entry.path);
  }
}

/**
 * Phase 2: the live entries that stay, hard-linked into the staged tree
 * (copied where a link is impossible), and the live files that already hold
 * the snapshot's bytes (`verifiedLive`: their sha256 matched the manifest),
 * linked too; a candidate that did not match is copied from the bundle.
 */
export async function stageCarried(unit: PlanUnit, stageDir: string, run: StageRun, verifiedLive: ReadonlySet<string>): Promise<void> {
  const denied: string[] = [];
  for (const item of unit.items) {
    await run.breathe();
    if (item.kind === 'restore' && item.linkCandidate) {
      if (!verifiedLive.has(item.linkCandidate)) continue;
      const dest = stagedPath(stageDir, item.rel);
      // Changed since it was hashed (the agent is still running?): the bundle's copy after all.
      if (unchangedSinceHashed(item.linkCandidate, item)) {
        linkOrCopy(fsPath(item.linkCandidate), fsPath(dest), true);
        run.tick(item.entry.size ?? 0);
      } else {
        copyVerified(item.source, dest, item.entry, item.mode);
        run.tick(item.entry.size ?? 0, item.entry.path);
      }
      continue;
    }
    if (item.kind !== 'carry' || item.follows) continue;
    const live = item.live;
    const outcome = carryEntry(live.path, stagedPath(stageDir, item.rel), live.type === 'dir' ? 'special' : live.type, item.display, () => live.target!);
    if (outcome && 'warning' in outcome) run.warnings.push(outcome.warning);
    else if (outcome) denied.push(outcome.denied);
  }
  const trees = await stageTrees(unit.items.filter((i): i is TreeItem => i.kind === 'tree'), stageDir, run);
  run.warnings.push(...trees.warnings);
  denied.push(...trees.denied);
  refuseUncarried(denied);
}

/** A live file the restore may neither link nor read (another user's, say) cannot be kept in the restored tree: refused, so it is not lost. */
function refuseUncarried(paths: readonly string[]): void {
  if (paths.length === 0) return;
  throw new RefusedError('cannot-carry', `cannot restore: ${paths.length} live file(s) the restore must keep cannot be carried over (${paths[0]}); nothing was changed`, {
    hint: 'they belong to another user or are unreadable: restore as their owner, or move them out of the state root first',
    details: paths.slice(0, 20),
  });
}

/** Directory modes last (deepest first), so a read-only directory does not block writes below it while staging. */
export function finishStage(unit: PlanUnit, stageDir: string): void {
  for (let i = unit.items.length - 1; i >= 0; i--) {
    const item = unit.items[i]!;
    if (item.kind === 'dir') fs.chmodSync(fsPath(stagedPath(stageDir, item.rel)), item.mode);
  }
  fs.chmodSync(stageDir, unit.rootMode);
}

/** Dry run: every file the restore would write, hashed against the manifest; config merges tried in memory. */
export function verifyPlanned(unit: PlanUnit, run: StageRun): void {
  for (const item of unit.items) {
    if (item.kind !== 'restore' || item.entry.type !== 'file') continue;
    if (item.merge && item.mergeLive) mergedText(item, run);
    else checkVerified(item.source, item.entry);
    run.tick(item.entry.size ?? 0);
  }
}

/**
 * Every rel is a normalised relative path: bundle ones were checked by
 * parseBundleManifest, live ones are readdir names joined with '/'. The
 * staged tree is new and built top-down by us, and the plan puts nothing
 * below a symlink, so no symlink ancestor can exist (README "Safety rules") and a plain
 * join is enough; safeJoin's path.relative per file cost 10% of a restore.
 */
function stagedPath(stageDir: string, rel: string): string {
  return `${stageDir}/${rel}`;
}

/** Still the file that was hashed: a change since then would show in size, mode or mtime. */
function unchangedSinceHashed(file: string, item: RestoreItem): boolean {
  const stat = fs.lstatSync(fsPath(file), { throwIfNoEntry: false });
  return stat !== undefined && stat.isFile() && holdsRestoredFile(stat, restoredFile(item.entry, item.mode));
}

export function stagedPathFor(dir: string, stamp: string): { staged: string; old: string } {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  return { staged: path.join(parent, `${base}.clawback-stage-${stamp}`), old: path.join(parent, `${base}.clawback-old-${stamp}`) };
}
