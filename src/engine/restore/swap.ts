import { lockHost } from '../sandbox/lock.js';
import fs from 'node:fs';
import path from 'node:path';
import { RefusedError } from '../../errors.js';
import { bundleTimestamp } from '../../store/home.js';
import { fsyncDir } from '../../store/atomic.js';
import { applyRegistryChange, removeJournal, rollBack, writeJournal, type JournalRecord } from '../../store/journal.js';
import type { EngineDeps } from '../deps.js';
import { removeOldTree, type HeavyPart } from './remove-old.js';

/**
 * A directory is swapped by renaming it and a sibling: that needs a writable
 * parent on the same filesystem. Checked before anything is written, so the
 * refusal is clear instead of a failed rename halfway through.
 */
export function assertSwappable(dir: string, exists: boolean): void {
  const parent = path.dirname(dir);
  const parentStat = fs.statSync(parent, { throwIfNoEntry: false });
  if (exists && parentStat && fs.lstatSync(dir).dev !== parentStat.dev) {
    throw new RefusedError('mount-point', `${dir} is a mount point; clawback swaps a state directory by renaming it, which a mount point does not allow`, {
      hint: 'register a directory inside the mount as the state root (sandbox set --root)',
    });
  }
  if (!parentStat) return;
  try {
    fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new RefusedError('parent-not-writable', `cannot stage beside ${dir}: ${parent} is not writable`, {
      hint: 'restore needs to create a sibling directory next to the state root; fix the permissions of its parent',
    });
  }
}

function renameDurably(from: string, to: string): void {
  fs.renameSync(from, to);
  fsyncDir(path.dirname(to));
}

/**
 * The swap: journal `swapping`, then per pair live → old and staged → live,
 * then journal `committed` (the commit point), then the registry change and
 * the removal of the old trees (`heavy`: per pair, its large carried subtrees,
 * removed in parallel first) and the journal. A kill anywhere is finished
 * by recoverJournals: before the commit point it rolls back, after it
 * forward. An error before the commit point rolls back here and is rethrown.
 */
export async function swapAndCommit(record: JournalRecord, deps: EngineDeps, heavy: ReadonlyArray<readonly HeavyPart[]> = []): Promise<void> {
  for (const pair of record.pairs) {
    const stat = fs.lstatSync(pair.staged);
    pair.stagedId = { dev: stat.dev, ino: stat.ino };
  }
  record.state = 'swapping';
  writeJournal(deps.layout, record);
  deps.fault?.('restore:journal-written');
  try {
    record.pairs.forEach((pair, i) => {
      if (pair.liveExisted) {
        renameDurably(pair.live, pair.old);
        deps.fault?.(`restore:renamed-live-${i}`);
      }
      renameDurably(pair.staged, pair.live);
      deps.fault?.(`restore:renamed-staged-${i}`);
    });
    record.state = 'committed';
    writeJournal(deps.layout, record);
  } catch (error) {
    if (record.state !== 'committed') rollBack(deps.layout, lockHost(deps), record, bundleTimestamp(deps.now()));
    throw error;
  }
  deps.fault?.('restore:committed');
  // From here on the restored state is live; a failure leaves the journal for the next command to finish.
  applyRegistryChange(deps.layout, lockHost(deps), record.sandbox, record.registry);
  deps.fault?.('restore:before-cleanup');
  for (const [i, pair] of record.pairs.entries()) {
    await removeOldTree(pair.old, heavy[i] ?? [], deps.host.parallelism);
    deps.fault?.(`restore:cleaned-${i}`);
  }
  removeJournal(deps.layout, record.sandbox);
}
