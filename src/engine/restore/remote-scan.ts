import { decodeName } from '../../fs-safety/fs-path.js';
import type { LiveType } from './live-view.js';
import type { ProbedDir, RemoteEntry } from './remote-live.js';
import { nulList, q, runRemote, stagedTreeMismatch, type RemoteShell } from './remote-shell.js';

/**
 * Reading a remote tree with only POSIX sh, find, stat and readlink (busybox has no `find -printf`):
 * `find -print0` names every entry (names are bytes, NUL-framed), then the list goes back on stdin to
 * `xargs -0 stat` (one line per entry, in order, no names in it) and to a loop printing each symlink's
 * target NUL-framed. An entry that vanished in between makes the counts differ: scanned again.
 */

function splitNul(out: Buffer): string[] {
  const names: string[] = [];
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== 0) continue;
    names.push(decodeName(out.subarray(start, i)));
    start = i + 1;
  }
  return names;
}

function typeOfRawMode(raw: number): LiveType {
  const kind = raw & 0o170000;
  return kind === 0o040000 ? 'dir' : kind === 0o100000 ? 'file' : kind === 0o120000 ? 'symlink' : 'special';
}

const STAT = `xargs -0 stat -c '%f %s %Y' --`;
const LINKS = `xargs -0 sh -c 'for f do if [ -L "$f" ]; then readlink -- "$f"; printf "\\000"; fi; done' sh`;

async function scanOnce(shell: RemoteShell, dir: string): Promise<RemoteEntry[] | undefined> {
  const listed = await runRemote(shell, `listing ${dir}`, `if [ -d ${q(dir)} ] && ! [ -L ${q(dir)} ]; then cd -- ${q(dir)} && find . -print0; fi`);
  const names = splitNul(listed);
  if (names.length === 0) return [];
  const input = nulList(names);
  const stats = (await runRemote(shell, `reading ${dir}`, `cd -- ${q(dir)}\n${STAT}`, input)).toString('latin1').split('\n').filter((l) => l !== '');
  if (stats.length !== names.length) return undefined;
  const entries = names.map((name, i): RemoteEntry => {
    const [raw, size, mtime] = stats[i]!.split(' ');
    const rawMode = parseInt(raw ?? '', 16);
    return { path: name === '.' ? '' : name.replace(/^\.\//, ''), type: typeOfRawMode(rawMode), mode: rawMode & 0o7777, size: Number(size), mtimeMs: Number(mtime) * 1000 };
  });
  const links = entries.filter((e) => e.type === 'symlink');
  if (links.length > 0) {
    const targets = splitNul(await runRemote(shell, `reading links in ${dir}`, `cd -- ${q(dir)}\n${LINKS}`, input));
    if (targets.length !== links.length) return undefined;
    links.forEach((link, i) => (link.target = targets[i]!.replace(/\n$/, '')));
  }
  return entries;
}

/** Every entry of a remote directory tree (none when it does not exist), symlinks not followed. */
export async function scanRemoteTree(shell: RemoteShell, dir: string): Promise<RemoteEntry[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const entries = await scanOnce(shell, dir);
    if (entries) return entries;
  }
  throw stagedTreeMismatch(shell.label, `${dir} kept changing while it was read`);
}

/**
 * Where each directory really lives (the real path of its longest existing ancestor, joined with the
 * missing rest), as the local restore's realpath does: a root reached through a symlink is swapped
 * where it is. One script for all of them.
 */
export async function probeDirs(shell: RemoteShell, dirs: readonly string[]): Promise<ProbedDir[]> {
  const script = dirs
    .map((dir) => `p=${q(dir)}; rest=''\nwhile ! [ -e "$p" ] && ! [ -L "$p" ]; do rest="/\${p##*/}$rest"; p=\${p%/*}; [ -n "$p" ] || p=/; done\nprintf '%s%s\\000' "$(readlink -f -- "$p")" "$rest"`)
    .join('\n');
  const out = splitNul(await runRemote(shell, 'resolving the state root', script));
  return dirs.map((dir, i) => ({ dir, real: (out[i] ?? dir).replace(/\/\/+/g, '/') || dir }));
}

/** What the swap needs of each directory's parent: it exists, is writable, and the directory is not a mount point. */
export async function probeSwappable(shell: RemoteShell, dirs: readonly string[]): Promise<Array<{ parentWritable: boolean; mountPoint: boolean }>> {
  const script = dirs
    .map((dir) => {
      const parent = dir.replace(/\/[^/]*$/, '') || '/';
      return `w=n; m=n; [ -w ${q(parent)} ] && w=y; if [ -d ${q(dir)} ] && [ "$(stat -c %d -- ${q(dir)})" != "$(stat -c %d -- ${q(parent)})" ]; then m=y; fi; echo "$w$m"`;
    })
    .join('\n');
  const lines = (await runRemote(shell, 'checking the state root', script)).toString('utf8').trim().split('\n');
  return dirs.map((_, i) => ({ parentWritable: lines[i]?.[0] === 'y', mountPoint: lines[i]?.[1] === 'y' }));
}

/** Reads small remote files (configs to merge) whole: each as `<size>\n<bytes>`, or `-\n` when it is not a regular file. */
export async function readRemoteTexts(shell: RemoteShell, files: readonly string[]): Promise<Map<string, string | undefined>> {
  const script = files.map((f) => `if [ -f ${q(f)} ] && ! [ -L ${q(f)} ]; then wc -c < ${q(f)}; cat -- ${q(f)}; else echo -; fi`).join('\n');
  const out = await runRemote(shell, 'reading configs', script);
  const texts = new Map<string, string | undefined>();
  let at = 0;
  for (const file of files) {
    const eol = out.indexOf(0x0a, at);
    const head = out.subarray(at, eol).toString('latin1').trim();
    at = eol + 1;
    if (head === '-') {
      texts.set(file, undefined);
      continue;
    }
    const size = Number(head);
    texts.set(file, out.subarray(at, at + size).toString('utf8'));
    at += size;
  }
  return texts;
}

