import fs from 'node:fs';
import path from 'node:path';
import { lockHost } from '../sandbox/lock.js';
import { asUserError, RefusedError } from '../../errors.js';
import { bundleTimestamp } from '../../store/home.js';
import { applyRegistryChange, finishRollBack, journalPath, removeJournal, writeJournal, type JournalRecord } from '../../store/journal.js';
import { updateRegistry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { openJournal, takePreRestoreSnapshot, type ApplyInput } from './apply.js';
import { InterruptCheck } from './interrupt.js';
import { restoreItems, settlePending, writeTotals, type RestorePlan } from './plan.js';
import { remoteSha256, type HashTool } from '../sandbox/remote-hash.js';
import type { RemoteLiveView } from './remote-live.js';
import { probeSwappable } from './remote-probe.js';
import type { RemoteShell } from '../sandbox/remote-shell.js';
import { finishRemoteStage, stageRemote } from './remote-stage.js';
import { cleanUpCommitted, moveLiveAside, moveStagedIn, recordStagedIds, rollBackRemote } from './remote-swap.js';
import { StageRun } from './stage.js';
import type { PreRestoreSnapshot, RestoreOutcome } from './summary.js';

export interface RemoteApplyInput extends ApplyInput {
  shell: RemoteShell;
  live: RemoteLiveView;
  hashTool: HashTool;
}

/** The swap renames a directory and a sibling: the parent must be writable and the directory no mount point (as assertSwappable locally). */
async function assertRemoteSwappable(shell: RemoteShell, plan: RestorePlan): Promise<void> {
  const dirs = plan.units.map((u) => u.dir);
  const facts = await probeSwappable(shell, dirs);
  facts.forEach((fact, i) => {
    const dir = dirs[i]!;
    if (fact.mountPoint) {
      throw new RefusedError('mount-point', `${dir} in ${shell.label} is a mount point; clawback swaps a state directory by renaming it, which a mount point does not allow`, {
        hint: 'register a directory inside the mount as the state root (sandbox set --root)',
      });
    }
    if (!fact.parentWritable && plan.units[i]!.exists) {
      throw new RefusedError('parent-not-writable', `cannot stage beside ${dir} in ${shell.label}: its parent is not writable by the target's user`, {
        hint: 'restore needs to create a sibling directory next to the state root; fix the permissions of its parent in the target',
      });
    }
  });
}

/**
 * Live files that may already hold the snapshot's bytes: those whose size, mode and mtime (to the
 * second: remote stat's precision) are the manifest's are hashed in the target; the ones that match
 * are linked there instead of sent.
 */
async function verifyCandidates(input: RemoteApplyInput): Promise<Set<string>> {
  const candidates = restoreItems(input.plan.units).filter((i) => {
    if (i.linkCandidate === undefined) return false;
    const stat = input.live.lstat(i.linkCandidate);
    const sameSecond = Math.floor((stat?.mtimeMs ?? -1) / 1000) === Math.floor((i.entry.mtimeMs ?? -2000) / 1000);
    return stat?.type === 'file' && stat.size === i.entry.size && (stat.mode & 0o777) === (i.mode & 0o777) && sameSecond;
  });
  if (candidates.length === 0) return new Set();
  const hashes = await remoteSha256(input.shell, candidates.map((c) => c.linkCandidate!), input.hashTool);
  return new Set(candidates.filter((c, i) => hashes[i] === c.entry.sha256).map((c) => c.linkCandidate!));
}

function openRemoteJournal(input: RemoteApplyInput, stamp: string, deps: EngineDeps): JournalRecord {
  return openJournal(input, stamp, deps, { via: input.shell.label, marker: `${path.posix.resolve(input.target.entry.root)}.clawback-restore-${stamp}` });
}

function markerText(journal: JournalRecord, deps: EngineDeps): string {
  const host = lockHost(deps);
  return `${JSON.stringify({ tool: 'clawback', what: 'restore in progress', sandbox: journal.sandbox, host: host.hostname, pid: host.pid, journal: journalPath(deps.layout, journal.sandbox), createdAt: journal.createdAt })}\n`;
}

/**
 * A remote restore's roll back before its commit point. If the target cannot be reached now, the
 * journal stays: the next command that takes the sandbox's lock finishes the roll back.
 */
async function rollBackOrLeave(shell: RemoteShell, journal: JournalRecord, deps: EngineDeps): Promise<void> {
  try {
    const warnings = await rollBackRemote(shell, journal, bundleTimestamp(deps.now()));
    finishRollBack(deps.layout, lockHost(deps), journal);
    warnings.forEach((w) => deps.events.warning?.(w));
  } catch {
    deps.events.warning?.(`could not roll the restore back in ${shell.label} now; the next clawback command on ${journal.sandbox} will`);
  }
}

/**
 * The remote twin of applyPlan (apply.ts): check, stage in the target beside the live trees, take the
 * pre-restore snapshot, link what stays, then the journaled swap. Anything failing before the commit
 * point rolls back (now, or at the next command if the target is gone) and is rethrown.
 */
export async function applyRemotePlan(input: RemoteApplyInput, deps: EngineDeps): Promise<{ plan: RestorePlan; outcome: RestoreOutcome }> {
  const { shell } = input;
  await assertRemoteSwappable(shell, input.plan);
  const verified = await verifyCandidates(input);
  const plan = settlePending(input.plan, new Set(restoreItems(input.plan.units).filter((i) => verified.has(i.linkCandidate ?? '')).map((i) => i.entry.path)));
  const stamp = bundleTimestamp(deps.now());
  const journal = openRemoteJournal(input, stamp, deps);
  const sent = restoreItems(plan.units).filter((i) => i.entry.type === 'file' && !verified.has(i.linkCandidate ?? '')).length;
  const interrupt = new InterruptCheck(deps, input.target.name);
  const run = new StageRun(deps, Number.POSITIVE_INFINITY, interrupt);
  const scratch = fs.mkdtempSync(path.join(deps.host.tmpDir, 'clawback-restore-'));
  let preRestore: PreRestoreSnapshot | null = null;
  const warnings: string[] = [];
  try {
    if (input.target.create) registerTarget(input.target.create, deps);
    deps.events.phase?.('restore', writeTotals(plan));
    const units = plan.units.map((unit, i) => ({ unit, stageDir: journal.pairs[i]!.staged }));
    const staged = await stageRemote(shell, units, { path: journal.marker!, text: markerText(journal, deps) }, {
      live: input.live, run, verifiedLive: verified, scratch, now: deps.now().getTime(), hashTool: input.hashTool,
      fault: (point) => deps.fault?.(point), half: Math.max(1, Math.floor(sent / 2)),
    });
    deps.fault?.('restore:staged');
    if (input.preRestore && changesLiveState(plan, input) && plan.units.some((u) => u.exists && input.live.children(u.dir).length > 0)) {
      deps.events.phase?.('pre-restore snapshot');
      interrupt.check();
      preRestore = await takePreRestoreSnapshot(input.target.name, stamp, deps, warnings);
      deps.events.phase?.('restore', writeTotals(plan));
    }
    await finishRemoteStage(shell, staged);
    await recordStagedIds(shell, journal.pairs);
    deps.fault?.('restore:carried');
    await interrupt.breathe(true);
  } catch (error) {
    await rollBackOrLeave(shell, journal, deps);
    throw asUserError(error, journal.pairs[0]?.live, { nothingWritten: true });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  deps.events.phase?.('swap');
  await swapRemote(shell, journal, deps, warnings);
  if (interrupt.aborted) warnings.push('interrupted after the restore was committed: it was finished, not undone');
  return { plan, outcome: { merges: run.merges, preRestore, warnings: [...warnings, ...run.warnings] } };
}

function changesLiveState(plan: RestorePlan, input: ApplyInput): boolean {
  return input.policyChanges || input.target.create !== undefined || plan.changes.some((c) => c.action !== 'unchanged' && c.action !== 'kept');
}

function registerTarget(entry: NonNullable<ApplyInput['target']['create']>, deps: EngineDeps): void {
  updateRegistry(deps.layout, lockHost(deps), (registry) => {
    registry.sandboxes[entry.name] = { ...entry };
  });
}

/**
 * The journaled swap through the transport (as swapAndCommit locally): journal `swapping`, live trees
 * aside, staged trees in, journal `committed` (the commit point), then the registry change and the
 * clean-up. A failure before the commit point rolls back (or leaves it to the next command); after
 * it, a clean-up the target refuses now is left to the next command too.
 */
async function swapRemote(shell: RemoteShell, record: JournalRecord, deps: EngineDeps, warnings: string[]): Promise<void> {
  record.state = 'swapping';
  writeJournal(deps.layout, record);
  deps.fault?.('restore:journal-written');
  try {
    await moveLiveAside(shell, record);
    deps.fault?.('restore:renamed-live-0');
    await moveStagedIn(shell, record);
    deps.fault?.('restore:renamed-staged-0');
    record.state = 'committed';
    writeJournal(deps.layout, record);
  } catch (error) {
    await rollBackOrLeave(shell, record, deps);
    throw error;
  }
  deps.fault?.('restore:committed');
  applyRegistryChange(deps.layout, lockHost(deps), record.sandbox, record.registry);
  deps.fault?.('restore:before-cleanup');
  try {
    await cleanUpCommitted(shell, record);
  } catch {
    warnings.push(`the restore is done, but its old state could not be removed from ${shell.label} now; the next clawback command on ${record.sandbox} removes it`);
    return;
  }
  deps.fault?.('restore:cleaned-0');
  removeJournal(deps.layout, record.sandbox);
}
