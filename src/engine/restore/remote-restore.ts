import { RefusedError } from '../../errors.js';
import type { Transport } from '../../transport/index.js';
import { checkVerified, readVerified } from '../bundle/checked-read.js';
import type { EngineDeps } from '../deps.js';
import { writeTotals, type RestorePlan } from './plan.js';
import type { MappedMount } from './mounts.js';
import type { LiveView } from './live-view.js';
import { applyRemotePlan, type RemoteApplyInput } from './remote-apply.js';
import { textsToFetch } from './remote-content.js';
import { hashTool } from '../sandbox/remote-hash.js';
import { listRemote } from '../sandbox/remote-scan.js';
import { RemoteLiveView } from './remote-live.js';
import { probeDirs, readRemoteTexts } from './remote-probe.js';
import { mergeWithLive, StageRun } from './stage.js';
import type { RestoreOutcome } from './summary.js';

/** How a restore plans and applies, wherever the live state is (restore.ts builds both sides). */
export interface RemoteRestoreInput {
  mounts: MappedMount[];
  /** Plans against a live view (restore.ts's planFor with the view given). */
  plan: (live: LiveView) => RestorePlan;
  dryRun: boolean;
  apply: Omit<RemoteApplyInput, 'plan' | 'shell' | 'live' | 'hashTool'>;
}

/** Directories not inside another one of the list: scanning those sees everything. */
function outermost(dirs: readonly string[]): string[] {
  const sorted = [...new Set(dirs)].sort((a, b) => a.length - b.length);
  return sorted.filter((d, i) => !sorted.slice(0, i).some((o) => d === o || d.startsWith(o === '/' ? '/' : `${o}/`)));
}

/**
 * The live state of a remote target as planning needs it: where each mount really lives, one scan
 * of each outermost directory, and the configs planning reads (fetched as planning asks for them:
 * it is pure, so it simply runs again with the texts in hand).
 */
async function planRemote(shell: Transport, input: RemoteRestoreInput): Promise<{ plan: RestorePlan; live: RemoteLiveView }> {
  const probes = await probeDirs(shell, input.mounts.map((m) => m.dir));
  const live = new RemoteLiveView(probes, await listRemote(shell, outermost(probes.map((p) => p.real))));
  for (let round = 0; ; round++) {
    const plan = input.plan(live);
    if (live.missing.size === 0 || round === 3) {
      const more = textsToFetch(plan.units, live);
      if (more.length > 0) for (const [file, text] of await readRemoteTexts(shell, more)) live.texts.set(file, text);
      return { plan, live };
    }
    const wanted = [...live.missing];
    live.missing.clear();
    for (const [file, text] of await readRemoteTexts(shell, wanted)) live.texts.set(file, text);
  }
}

/** A dry run against a remote target: every file the restore would write hashed against the manifest on the host, merges tried with the live text. */
function checkRemotePlan(plan: RestorePlan, live: RemoteLiveView, deps: EngineDeps): RestoreOutcome {
  deps.events.phase?.('verify', writeTotals(plan));
  const run = new StageRun(deps, Number.POSITIVE_INFINITY);
  for (const unit of plan.units) {
    for (const item of unit.items) {
      if (item.kind !== 'restore' || item.entry.type !== 'file') continue;
      if (item.merge && item.mergeLive) mergeWithLive(item, readVerified(item.source, item.entry).toString('utf8'), live.texts.get(item.mergeLive), run);
      else checkVerified(item.source, item.entry);
      run.tick(item.entry.size ?? 0);
    }
  }
  return { merges: run.merges, preRestore: null, warnings: run.warnings };
}

/** Plans against the remote live state and, unless a dry run, stages and swaps in the target. */
export async function restoreRemote(shell: Transport, input: RemoteRestoreInput, deps: EngineDeps): Promise<{ plan: RestorePlan; outcome: RestoreOutcome }> {
  const { plan, live } = await planRemote(shell, input);
  if (input.dryRun) return { plan, outcome: checkRemotePlan(plan, live, deps) };
  const tool = await hashTool(shell);
  return applyRemotePlan({ ...input.apply, plan, shell, live, hashTool: tool }, deps);
}

/** QwenPaw finds its workspaces through its live config.json, read on this host: not yet through a transport. */
export function assertRemoteRestorable(agent: string, label: string): void {
  if (agent !== 'qwenpaw') return;
  throw new RefusedError('remote-unsupported', `restoring a QwenPaw home through ${label} is not supported yet`, {
    hint: 'restore it into a local sandbox (--to NAME --root DIR), or export it and import it in the target',
  });
}
