import fs from 'node:fs';
import { posix } from 'node:path';
import { errnoCode } from '../../errors.js';
import { fsPath } from '../../fs-safety/fs-path.js';
import { copyVerified, readVerified, writeStaged } from '../bundle/checked-read.js';
import { configHashText } from '../config-merge/index.js';
import type { CarryItem, PlanUnit, RestoreItem } from './plan.js';

/** The part of stage.ts's StageRun this phase uses (an interface, so the two files do not import each other). */
export interface FollowRun {
  readonly rewrittenConfigs: ReadonlySet<string>;
  readonly warnings: string[];
  breathe(): Promise<void>;
  tick(bytes: number, restored?: string): void;
}

type Follower = (RestoreItem | CarryItem) & { follows: NonNullable<RestoreItem['follows']> };

/**
 * Phase 1, after the unit's bundle files: the files that follow a restored OpenClaw config. When the
 * config is restored as the snapshot has it, the snapshot's own copies come back with it; when the
 * merge wrote new text (or the copy is a live one the restore would otherwise keep), they are
 * written from the staged config: `openclaw.json.last-good` as its bytes, `.config-hash` with its
 * sha256. They are new files in the staged tree, so the swap publishes them and the journal undoes
 * them like every other restored file.
 */
export async function stageFollowers(unit: PlanUnit, stageDir: string, run: FollowRun): Promise<void> {
  for (const item of unit.items) {
    if ((item.kind !== 'restore' && item.kind !== 'carry') || !item.follows) continue;
    await run.breathe();
    writeFollower(item as Follower, stageDir, run);
  }
}

function writeFollower(item: Follower, stageDir: string, run: FollowRun): void {
  // The staged tree is new and built by us (see stagedPath in stage.ts): a plain join stays inside.
  const dest = `${stageDir}/${item.rel}`;
  if (item.kind === 'restore' && !run.rewrittenConfigs.has(item.follows.path)) {
    copyVerified(item.source, dest, item.entry, item.mode);
    run.tick(item.entry.size ?? 0, item.entry.path);
    return;
  }
  const current = currentCopy(item, run);
  if (current === undefined) return;
  const config = fs.readFileSync(fsPath(`${stageDir}/${item.follows.rel}`));
  const text = item.follows.role === 'last-good' ? config : configHashText(current.text(), posix.basename(item.follows.path), config);
  writeStaged(dest, text, current.mode, undefined);
  if (item.kind === 'restore') run.tick(item.entry.size ?? 0, item.entry.path);
}

/** The copy being replaced: its mode, and (read only for `.config-hash`) its text. Undefined when a live one vanished. */
function currentCopy(item: Follower, run: FollowRun): { mode: number; text: () => string } | undefined {
  if (item.kind === 'restore') return { mode: item.mode, text: () => readVerified(item.source, item.entry).toString('utf8') };
  const file = item.live.path;
  try {
    const mode = fs.lstatSync(fsPath(file)).mode & 0o7777;
    const text = item.follows.role === 'config-hash' ? fs.readFileSync(fsPath(file), 'utf8') : '';
    return { mode, text: () => text };
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    run.warnings.push(`${item.display} vanished before it could be brought in line with the restored ${item.follows.path}`);
    return undefined;
  }
}
