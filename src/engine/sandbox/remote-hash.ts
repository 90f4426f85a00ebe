import { nulList, runRemote, type RemoteShell } from './remote-shell.js';

/**
 * sha256 of remote files, computed in the target so only 64 hex digits per file cross the wire:
 * `sha256sum` (coreutils or busybox) in one batch, else python3's hashlib. A name with a newline would
 * split sha256sum's line (busybox does not escape it), so such files are hashed one by one from stdin.
 * `undefined` for a file that is missing or not a regular file.
 */

const BATCH = `xargs -0 sha256sum --`;
const ONE_BY_ONE = `xargs -0 sh -c 'for f do if [ -f "$f" ] && ! [ -L "$f" ] && [ -r "$f" ]; then sha256sum < "$f" || echo -; else echo -; fi; done' sh`;
const PYTHON = [
  'import hashlib, os, stat, sys',
  'for name in sys.stdin.buffer.read().split(b"\\0")[:-1]:',
  '    try:',
  '        st = os.lstat(name)',
  '        if not stat.S_ISREG(st.st_mode): raise OSError()',
  '        h = hashlib.sha256()',
  '        with open(name, "rb") as f:',
  '            for chunk in iter(lambda: f.read(1 << 20), b""): h.update(chunk)',
  '        print(h.hexdigest())',
  '    except OSError:',
  '        print("-")',
].join('\n');

export type HashTool = 'sha256sum' | 'python3';

/** Which tool hashes in the target; a target with neither cannot check what was staged (exit 8, missing tool). */
export async function hashTool(shell: RemoteShell): Promise<HashTool> {
  const result = await shell.exec('if command -v sha256sum >/dev/null 2>&1; then echo sha256sum; elif command -v python3 >/dev/null 2>&1; then echo python3; else exit 127; fi');
  const tool = result.stdout.toString('utf8').trim();
  if (result.code === 0 && (tool === 'sha256sum' || tool === 'python3')) return tool;
  throw shell.failure('sha256sum', { code: 127, stderr: 'sh: sha256sum: not found (nor python3)' });
}

function parseLines(out: Buffer, count: number): Array<string | undefined> | undefined {
  const lines = out.toString('latin1').split('\n').filter((l) => l !== '');
  if (lines.length !== count) return undefined;
  return lines.map((l) => /^\\?([0-9a-f]{64})\b/.exec(l)?.[1]);
}

async function oneByOne(shell: RemoteShell, files: readonly string[], tool: HashTool): Promise<Array<string | undefined>> {
  if (files.length === 0) return [];
  const script = tool === 'python3' ? `python3 -c ${shellWord(PYTHON)}` : ONE_BY_ONE;
  const out = await runRemote(shell, 'hashing files in the target', script, nulList(files));
  return parseLines(out, files.length) ?? files.map(() => undefined);
}

function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The sha256 of each file (absolute remote paths, or relative to `cwd`), in order. */
export async function remoteSha256(shell: RemoteShell, files: readonly string[], tool: HashTool): Promise<Array<string | undefined>> {
  if (tool === 'python3') return oneByOne(shell, files, tool);
  const plain = files.map((f, i) => ({ f, i })).filter(({ f }) => !f.includes('\n'));
  const result: Array<string | undefined> = files.map(() => undefined);
  if (plain.length > 0) {
    // A file that vanished or cannot be read makes sha256sum skip a line: then each file on its own.
    const batch = await shell.exec(BATCH, { input: nulList(plain.map((p) => p.f)) });
    const hashes = (batch.code === 0 ? parseLines(batch.stdout, plain.length) : undefined) ?? (await oneByOne(shell, plain.map((p) => p.f), tool));
    plain.forEach((p, k) => (result[p.i] = hashes[k]));
  }
  const odd = files.map((f, i) => ({ f, i })).filter(({ f }) => f.includes('\n'));
  const oddHashes = await oneByOne(shell, odd.map((o) => o.f), tool);
  odd.forEach((o, k) => (result[o.i] = oddHashes[k]));
  return result;
}
