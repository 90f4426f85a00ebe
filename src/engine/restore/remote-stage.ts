import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tarStream, type TarWriteEntry } from '../../formats/tar-write.js';
import type { PlanUnit } from './plan.js';
import { newUnitContent, unitEntries, type ContentContext, type UnitContent } from './remote-content.js';
import { remoteSha256, type HashTool } from './remote-hash.js';
import { listRemote } from '../sandbox/remote-scan.js';
import { nulList, q, runRemote, stagedTreeMismatch, type RemoteShell } from './remote-shell.js';

/**
 * Staging in a remote target (SPEC §11 "restore"): the staged trees are created beside the live
 * ones, filled from ONE tar stream the host writes (extracted by the target's user: `-o`, no
 * chown), and every file that crossed the wire is hashed in the target against what was sent. Live
 * entries the restored tree keeps are then hard-linked there by the target itself, directory modes
 * set deepest first, and the staged trees scanned: anything but what was asked is refused.
 */

export interface StagedUnit {
  unit: PlanUnit;
  stageDir: string;
  content: UnitContent;
}

/** Phase 1: marker, staged directories, the tar stream, then the hashes. Returns what each unit holds. */
export async function stageRemote(
  shell: RemoteShell,
  units: ReadonlyArray<{ unit: PlanUnit; stageDir: string }>,
  marker: { path: string; text: string },
  context: ContentContext & { hashTool: HashTool; fault: (point: string) => void; half: number },
): Promise<StagedUnit[]> {
  const staged = units.map((u) => ({ ...u, content: newUnitContent() }));
  const script = [
    'umask 077',
    ...[...new Set(staged.map((s) => posix.dirname(s.stageDir)))].map((parent) => `mkdir -p -- ${q(parent)}`),
    `printf '%s' ${q(marker.text)} > ${q(marker.path)}`,
    ...staged.map((s) => `mkdir -m 700 -- ${q(s.stageDir)}`),
    // umask 0: the archive's modes as they are, for a user who is not root too (GNU tar applies the umask then).
    'umask 0',
    'cd /',
    'tar -xof -',
    ...staged.map((s) => ownLikeLive(s.stageDir, s.unit.dir)),
  ].join('\n');
  const proc = shell.spawn(`set -e\n${script}`);
  proc.stdout.resume();
  let sent = 0;
  async function* all(): AsyncGenerator<TarWriteEntry> {
    for (const s of staged) {
      for await (const entry of unitEntries(s.unit, s.stageDir, context, s.content)) {
        yield entry;
        if (entry.type === 'file' && ++sent === context.half) context.fault('restore:staging');
      }
    }
  }
  try {
    await pipeline(tarStream(all()), proc.stdin);
  } catch (error) {
    // The host side failed (a damaged bundle file, a merge that does not parse): the target's tar is stopped.
    proc.kill();
    await proc.done;
    throw error;
  }
  const outcome = await proc.done;
  if (outcome.code !== 0) throw shell.failure('tar -xof - (staging the restored tree)', outcome);
  await checkShipped(shell, staged, context.hashTool);
  return staged;
}

/**
 * Files are written as the target's user. Only when that user is root (docker exec's default) is the
 * staged tree given to the owner of the live root (or of its parent, for a new one), so the agent is
 * not left with root-owned files; any other user cannot chown, and does not try.
 */
function ownLikeLive(stageDir: string, live: string): string {
  const parent = posix.dirname(live);
  return `if [ "$(id -u)" = 0 ]; then if [ -e ${q(live)} ]; then o=$(stat -c %u:%g -- ${q(live)}); else o=$(stat -c %u:%g -- ${q(parent)}); fi; [ "$o" = 0:0 ] || chown -R -h -- "$o" ${q(stageDir)}; fi`;
}

/** Every file that crossed the wire holds, in the target, the bytes the host sent. */
async function checkShipped(shell: RemoteShell, staged: readonly StagedUnit[], tool: HashTool): Promise<void> {
  const shipped = staged.flatMap((s) => s.content.shipped);
  if (shipped.length === 0) return;
  const hashes = await remoteSha256(shell, shipped.map((f) => f.remote), tool);
  const bad = shipped.filter((f, i) => hashes[i] !== f.sha256);
  if (bad.length > 0) throw stagedTreeMismatch(shell.label, `${bad.length} file(s) do not hash to what was sent, e.g. ${bad[0]!.remote}`);
}

/**
 * Phase 2 (after the pre-restore snapshot, as locally): live entries linked into the staged trees in
 * the target (copied where a link is refused), directory modes, sync, and the final check.
 */
export async function finishRemoteStage(shell: RemoteShell, staged: readonly StagedUnit[]): Promise<void> {
  const links = staged.flatMap((s) => s.content.links);
  if (links.length > 0) {
    const pairs = nulList(links.flatMap((l) => [l.from, l.to]));
    // Fast path: one ln per pair; where it fails (another filesystem, a protected link) cp -p, pair by pair.
    const fast = await shell.exec('xargs -0 -n 2 ln -- 2>/dev/null', { input: pairs });
    if (fast.code !== 0) {
      const slow = `xargs -0 -n 2 sh -c 'if [ -e "$2" ] || [ -L "$2" ] || ! { [ -e "$1" ] || [ -L "$1" ]; }; then exit 0; fi; ln -- "$1" "$2" 2>/dev/null || cp -pP -- "$1" "$2"' sh`;
      await runRemote(shell, 'carrying live files into the staged tree', slow, pairs);
    }
  }
  const modes = staged.flatMap((s) => s.content.modes);
  await runRemote(shell, 'setting the staged directories\' modes', 'xargs -0 -n 2 chmod\nsync 2>/dev/null || true', nulList(modes.flatMap((m) => [m.mode.toString(8), m.path])));
  for (const s of staged) await checkStagedTree(shell, s);
}

/** The staged tree holds exactly what was asked: every planned entry with its type, nothing else (a carried file that vanished may be missing). */
async function checkStagedTree(shell: RemoteShell, staged: StagedUnit): Promise<void> {
  const listing = await listRemote(shell, [staged.stageDir]);
  const expected = staged.content.expected;
  const seen = new Set<string>();
  for (const [abs, stat] of listing.stats) {
    if (abs === staged.stageDir) continue;
    const rel = abs.slice(staged.stageDir.length + 1);
    const type = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : 'special';
    seen.add(rel);
    const want = expected.get(rel);
    if (want === undefined) throw stagedTreeMismatch(shell.label, `unexpected ${type} ${rel}`);
    if (want !== type) throw stagedTreeMismatch(shell.label, `${rel} is a ${type}, not a ${want}`);
  }
  const carried = new Set(staged.content.links.map((l) => l.to));
  for (const [rel, type] of expected) {
    if (!seen.has(rel) && !carried.has(`${staged.stageDir}/${rel}`)) throw stagedTreeMismatch(shell.label, `${type} ${rel} is missing`);
  }
}
