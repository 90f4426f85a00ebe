import { decodeName } from '../../fs-safety/fs-path.js';
import type { ProbedDir } from './remote-live.js';
import { q, runRemote, type RemoteShell } from '../sandbox/remote-shell.js';

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

