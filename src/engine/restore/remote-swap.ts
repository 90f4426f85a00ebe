import type { JournalRecord, SwapPair } from '../../store/journal.js';
import { q, runRemote, type RemoteShell } from '../sandbox/remote-shell.js';

/**
 * The journaled swap of a remote restore, as `mv` commands run in the target (batched: one script per
 * step). The journal stays on this host (src/store/journal.ts) with the transport it went through; a
 * marker file beside the state root tells anyone looking at the target that a restore is under way,
 * and goes last. Every script here is idempotent, so recovery may run it again after another kill.
 */

/** `mv -T` (GNU and busybox): a directory is renamed, never moved into an existing one; an existing destination is refused first. */
function moveScript(from: string, to: string): string {
  return `if [ -e ${q(to)} ] || [ -L ${q(to)} ]; then echo "clawback: ${to.replace(/[\\"$`]/g, '')} is in the way" >&2; exit 3; fi\nmv -T -- ${q(from)} ${q(to)}`;
}

const SYNC = 'sync 2>/dev/null || true';

/** The staged trees' identities, recorded before the swap so recovery knows a tree at `live` is ours. */
export async function recordStagedIds(shell: RemoteShell, pairs: SwapPair[]): Promise<void> {
  const out = await runRemote(shell, 'reading the staged trees', pairs.map((p) => `stat -c '%d %i' -- ${q(p.staged)}`).join('\n'));
  const lines = out.toString('utf8').trim().split('\n');
  pairs.forEach((pair, i) => {
    const [dev, ino] = (lines[i] ?? '').split(' ').map(Number);
    if (Number.isFinite(dev) && Number.isFinite(ino)) pair.stagedId = { dev: dev!, ino: ino! };
  });
}

/** Step 1 of the swap: every live tree that exists moves aside to its `.clawback-old-` name. */
export async function moveLiveAside(shell: RemoteShell, record: JournalRecord): Promise<void> {
  const moves = record.pairs.filter((p) => p.liveExisted).map((p) => moveScript(p.live, p.old));
  if (moves.length > 0) await runRemote(shell, 'moving the live state aside', [...moves, SYNC].join('\n'));
}

/** Step 2: every staged tree becomes live. */
export async function moveStagedIn(shell: RemoteShell, record: JournalRecord): Promise<void> {
  await runRemote(shell, 'moving the restored state in', [...record.pairs.map((p) => moveScript(p.staged, p.live)), SYNC].join('\n'));
}

/** After the commit point: the old trees, then the marker. */
export async function cleanUpCommitted(shell: RemoteShell, record: JournalRecord): Promise<void> {
  const lines = record.pairs.flatMap((p) => [`rm -rf -- ${q(p.old)} ${q(p.staged)}`]);
  if (record.marker !== undefined) lines.push(`rm -f -- ${q(record.marker)}`);
  await runRemote(shell, 'removing the old state', [...lines, SYNC].join('\n'));
}

/**
 * Puts one pair back (as rollBackPair in journal.ts does locally): a tree at `live` that is provably the
 * staged one goes back to `staged`; the old tree returns, and anything else found at `live` is moved
 * aside to a `.clawback-conflict-` name, never deleted; the staged tree is removed.
 */
function rollBackPairScript(pair: SwapPair, swapping: boolean, stamp: string): string {
  const lines: string[] = [];
  if (swapping) {
    const id = pair.stagedId ? `${pair.stagedId.dev} ${pair.stagedId.ino}` : 'none';
    const aside = `${pair.live}.clawback-conflict-${stamp}`;
    lines.push(
      `if [ -d ${q(pair.live)} ] && [ ! -L ${q(pair.live)} ] && [ "$(stat -c '%d %i' -- ${q(pair.live)})" = '${id}' ] && ! [ -e ${q(pair.staged)} ]; then mv -T -- ${q(pair.live)} ${q(pair.staged)}; fi`,
      `if [ -e ${q(pair.old)} ] || [ -L ${q(pair.old)} ]; then`,
      `  if [ -e ${q(pair.live)} ] || [ -L ${q(pair.live)} ]; then mv -T -- ${q(pair.live)} ${q(aside)}; echo conflict; fi`,
      `  mv -T -- ${q(pair.old)} ${q(pair.live)}`,
      'fi',
    );
  }
  lines.push(`rm -rf -- ${q(pair.staged)}`);
  return lines.join('\n');
}

/** Undoes a remote restore that had not reached its commit point; returns warnings about trees moved aside. */
export async function rollBackRemote(shell: RemoteShell, record: JournalRecord, stamp: string): Promise<string[]> {
  const swapping = record.state !== 'staging';
  const lines = [...record.pairs].reverse().map((p) => rollBackPairScript(p, swapping, stamp));
  if (record.marker !== undefined) lines.push(`rm -f -- ${q(record.marker)}`);
  const out = await runRemote(shell, 'rolling the restore back', [...lines, SYNC].join('\n'));
  const conflicts = out.toString('utf8').split('\n').filter((l) => l === 'conflict').length;
  return conflicts > 0 ? [`${conflicts} tree(s) in ${shell.label} held files clawback did not write; moved aside to *.clawback-conflict-${stamp}`] : [];
}

/** Finishes a remote restore past its commit point: only old trees and the marker are left to remove. */
export async function rollForwardRemote(shell: RemoteShell, record: JournalRecord): Promise<void> {
  await cleanUpCommitted(shell, record);
}
