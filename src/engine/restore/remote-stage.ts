import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tarStream, type TarWriteEntry } from '../../formats/tar-write.js';
import type { PlanUnit } from './plan.js';
import { newUnitContent, unitEntries, type ContentContext, type UnitContent } from './remote-content.js';
import { remoteSha256, type HashTool } from '../sandbox/remote-hash.js';
import { listRemote } from '../sandbox/remote-scan.js';
import { nulList, q, runRemote, stagedTreeMismatch, type RemoteShell } from '../sandbox/remote-shell.js';

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
  await checkDatabasesInTarget(shell, staged.flatMap((s) => s.content.shipped.filter((f) => f.database).map((f) => f.remote)));
  return staged;
}

const QUICK_CHECK_PY = ['import sqlite3, sys', 'for p in sys.argv[1:]:', '    c = sqlite3.connect(p)', '    print(c.execute("pragma quick_check").fetchone()[0])', '    c.close()'].join('\n');

/**
 * The restored databases opened by SQLite in the target (python3's sqlite3 module, else the sqlite3
 * binary): its own quick_check must say ok before anything is swapped. A target with neither has them
 * as the self-contained files they were prepared as (checked on this host, and by sha256 there).
 */
async function checkDatabasesInTarget(shell: RemoteShell, files: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  const script = [
    `if command -v python3 >/dev/null 2>&1 && python3 -c 'import sqlite3' 2>/dev/null; then xargs -0 python3 -c ${q(QUICK_CHECK_PY)}`,
    `elif command -v sqlite3 >/dev/null 2>&1; then xargs -0 -n 1 sh -c 'sqlite3 "$1" "pragma quick_check"' sh`,
    'else echo none; fi',
  ].join('\n');
  const answers = (await runRemote(shell, 'quick_check of the restored databases', script, nulList(files))).toString('utf8').trim().split('\n');
  if (answers.length === 1 && answers[0] === 'none') return;
  const bad = files.filter((_, i) => answers[i] !== 'ok');
  if (bad.length > 0) throw stagedTreeMismatch(shell.label, `SQLite in the target does not accept ${bad[0]} (quick_check: ${answers[files.indexOf(bad[0]!)] ?? 'no answer'})`);
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
