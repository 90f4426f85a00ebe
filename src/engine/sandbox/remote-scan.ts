import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { BundleMount } from '../../manifest/bundle-manifest.js';
import { decodeName, encodeName } from '../../fs-safety/fs-path.js';
import { shellQuote, type Transport } from '../../transport/index.js';
import { scanMounts, type ScanResult, type ScanView, type StatLike } from './scan.js';
import type { Selection } from './selection.js';

/**
 * The scan of a state root in a remote target (SPEC §11): one listing per mount — `find -print0`,
 * then `stat -c` over that list and `readlink` over its links, busybox-compatible — parsed on the
 * host into a ScanView, so the same MountScanner applies the same Selection, excludes, managed links
 * and unsafe-entry refusals as a local scan before anything is transferred. Names are bytes.
 */

export interface RemoteStat extends StatLike {
  /** The file's first 16 bytes are SQLite's header (asked only of likely databases). */
  sqlite?: boolean;
  /** Its header says WAL mode (file format versions 2). */
  walMode?: boolean;
}

export interface RemoteListing {
  stats: Map<string, RemoteStat>;
  children: Map<string, string[]>;
  links: Map<string, string>;
  warnings: string[];
  /** Names of clawback temp files found beside the first mount dir (`.clawback-tmp-…`), for the sweep. */
  temps: string[];
  /** How databases can be backed up in the target; known once likely databases were looked at. */
  databaseMethod?: 'python3' | 'sqlite3' | 'raw';
  /** Bytes that came over the wire for the listing. */
  transferredBytes: number;
}

const TYPE_MASK = 0o170000;
const TOOLS = ['find', 'stat', 'xargs', 'mktemp', 'readlink', 'od'];
const REQUIRE_TOOLS = `for t in ${TOOLS.join(' ')}; do command -v "$t" >/dev/null 2>&1 || { echo "sh: $t: not found" >&2; exit 127; }; done`;
/** mode(hex) size inode links device mtime(s) mtime(human, for its fraction) name */
const STAT_FORMAT = '%f %s %i %h %d %Y %y %n';
const RECORD = /^([0-9a-f]+) (\d+) (\d+) (\d+) (\d+) (-?\d+) \S+ \d\d:\d\d:\d\d(?:\.(\d+))? \S+ /;

function statLike(mode: number, size: number, ino: number, nlink: number, dev: number, mtimeMs: number): RemoteStat {
  const type = mode & TYPE_MASK;
  return {
    mode, size, ino, nlink, dev, mtimeMs,
    isDirectory: () => type === 0o040000,
    isFile: () => type === 0o100000,
    isSymbolicLink: () => type === 0o120000,
    isSocket: () => type === 0o140000,
    isFIFO: () => type === 0o010000,
  };
}

/**
 * One mount's listing script: (for the first mount) the `.clawback-tmp-*` names beside it, then the
 * names (NUL-separated, then an empty one), the stat records, then link name/target pairs; gzipped
 * when the target has gzip (names repeat: it is most of what an unchanged snapshot moves).
 */
function listingScript(dir: string, temps: boolean): string {
  const parent = path.posix.dirname(dir);
  return [
    REQUIRE_TOOLS,
    `cd ${shellQuote(dir)} 2>/dev/null || exit 3`,
    'T=$(mktemp "${TMPDIR:-/tmp}/.clawback-tmp-scan.XXXXXX") || exit 1',
    "trap 'rm -f \"$T\"' EXIT",
    'find . -print0 >"$T"',
    "if command -v gzip >/dev/null 2>&1; then Z='gzip -c'; else Z=cat; fi",
    '{',
    temps ? `for f in ${shellQuote(parent)}/.clawback-tmp-*; do [ -e "$f" ] && printf '%s\\0' "\${f##*/}"; done; printf '\\0'` : ':',
    'cat "$T"; printf \'\\0\'',
    `xargs -0 stat -c ${shellQuote(STAT_FORMAT)} <"$T"`,
    'printf \'\\0\'',
    'find . -type l -print0 | xargs -0 sh -c \'for f; do printf "%s\\0" "$f"; readlink "$f"; printf "\\0"; done\' sh',
    '} | $Z',
  ].join('\n');
}

/** `./a/b` (latin1, one char a byte) under `dir` as clawback's name string. */
function absoluteOf(dir: string, rel: string): string {
  return rel === '.' ? dir : path.posix.join(dir, decodeName(Buffer.from(rel.slice(2), 'latin1')));
}

/** Parses the stat records against the names find listed: a record's name ends at the first newline after which a listed name is complete. */
function parseStats(text: string, names: ReadonlySet<string>, dir: string, listing: RemoteListing): void {
  let at = 0;
  while (at < text.length) {
    const match = RECORD.exec(text.slice(at, at + 200));
    if (match === null) throw new Error(`unexpected stat output at byte ${at}`);
    const nameStart = at + match[0].length;
    let end = text.indexOf('\n', nameStart);
    while (end >= 0 && !(names.has(text.slice(nameStart, end)) && (end + 1 === text.length || RECORD.test(text.slice(end + 1, end + 201))))) end = text.indexOf('\n', end + 1);
    if (end < 0) throw new Error(`stat printed a name find did not list, at byte ${at}`);
    const [, mode, size, ino, nlink, dev, seconds, fraction] = match;
    const mtimeMs = Number(seconds) * 1000 + Number((fraction ?? '0').padEnd(9, '0').slice(0, 9)) / 1e6;
    const rel = text.slice(nameStart, end);
    listing.stats.set(absoluteOf(dir, rel), statLike(parseInt(mode!, 16), Number(size), Number(ino), Number(nlink), Number(dev), mtimeMs));
    at = end + 1;
  }
}

function parseListing(output: Buffer, dir: string, listing: RemoteListing, temps: boolean): void {
  let text = (output[0] === 0x1f && output[1] === 0x8b ? gunzipSync(output) : output).toString('latin1');
  if (temps) {
    const end = text.startsWith('\0') ? 0 : text.indexOf('\0\0') + 1;
    if (end > 0) listing.temps.push(...text.slice(0, end - 1).split('\0').map((n) => decodeName(Buffer.from(n, 'latin1'))));
    text = text.slice(end + 1);
  }
  const namesEnd = text.indexOf('\0\0');
  if (namesEnd < 0) throw new Error('the listing ended early');
  const names = text.slice(0, namesEnd).split('\0');
  const statsEnd = text.indexOf('\0', namesEnd + 2);
  if (statsEnd < 0) throw new Error('the stat records ended early');
  parseStats(text.slice(namesEnd + 2, statsEnd), new Set(names), dir, listing);
  for (const rel of names) {
    if (rel === '.' || !listing.stats.has(absoluteOf(dir, rel))) continue;
    const abs = absoluteOf(dir, rel);
    const parent = path.posix.dirname(abs);
    listing.children.set(parent, [...(listing.children.get(parent) ?? []), path.posix.basename(abs)]);
  }
  const pairs = text.slice(statsEnd + 1).split('\0');
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const target = pairs[i + 1]!.replace(/\n$/, '');
    listing.links.set(absoluteOf(dir, pairs[i]!), decodeName(Buffer.from(target, 'latin1')));
  }
}

/** Lists every mount dir in the target. A mount dir that is not there is simply absent from the listing. */
export async function listRemote(transport: Transport, dirs: readonly string[]): Promise<RemoteListing> {
  const listing: RemoteListing = { stats: new Map(), children: new Map(), links: new Map(), warnings: [], temps: [], transferredBytes: 0 };
  for (const [i, dir] of dirs.entries()) {
    const result = await transport.exec(listingScript(dir, i === 0));
    listing.transferredBytes += result.stdout.length;
    if (result.code === 3) continue;
    if (result.code !== 0) throw transport.failure(`find ${dir} -print0 | xargs -0 stat`, result);
    try {
      parseListing(result.stdout, dir, listing, i === 0);
    } catch (error) {
      throw transport.failure(`find ${dir} -print0 | xargs -0 stat`, { code: 1, stderr: `could not read the listing: ${(error as Error).message}` });
    }
    for (const line of result.stderr.split('\n')) if (/Permission denied/.test(line)) listing.warnings.push(`${line.replace(/^find: /, '')}; not captured`);
  }
  return listing;
}

const LIKELY_DATABASE = /\.(db|sqlite|sqlite3|db3)$/;
const SQLITE_HEADER_HEX = Buffer.from('SQLite format 3\0', 'latin1').toString('hex');

/** Reads the first 20 bytes of likely databases (by name, or with a -wal/-journal beside them) in one command. */
export async function markDatabases(transport: Transport, listing: RemoteListing): Promise<void> {
  const candidates = [...listing.stats.entries()]
    .filter(([file, stat]) => stat.isFile() && stat.size >= 512 && (LIKELY_DATABASE.test(file) || listing.stats.has(`${file}-wal`) || listing.stats.has(`${file}-journal`)))
    .map(([file]) => file);
  if (candidates.length === 0) return;
  const input = Buffer.concat(candidates.map((file) => Buffer.concat([encodeName(file), Buffer.of(0)])));
  const script = [
    'xargs -0 sh -c \'for f; do printf "%s\\0" "$(od -An -tx1 -N20 "$f" 2>/dev/null | tr -d " \\n")"; done\' sh',
    "if command -v python3 >/dev/null 2>&1 && python3 -c 'import sqlite3' >/dev/null 2>&1; then echo python3; elif command -v sqlite3 >/dev/null 2>&1; then echo sqlite3; else echo raw; fi",
  ].join('\n');
  const out = await transport.run(script, 'od -An -tx1 -N20 DATABASES; command -v python3 sqlite3', { input });
  listing.transferredBytes += out.length;
  const headers = out.toString('latin1').split('\0');
  const method = (headers[candidates.length] ?? '').trim();
  listing.databaseMethod = method === 'python3' || method === 'sqlite3' ? method : 'raw';
  candidates.forEach((file, i) => {
    const hex = headers[i] ?? '';
    if (hex.slice(0, 32) !== SQLITE_HEADER_HEX) return;
    const stat = listing.stats.get(file)!;
    stat.sqlite = true;
    stat.walMode = hex.slice(36, 40) === '0202';
  });
}

function enoent(file: string): Error {
  return Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
}

/** The listing as the filesystem calls a scan makes. */
export function remoteView(listing: RemoteListing): ScanView {
  return {
    stat: (dir) => listing.stats.get(dir),
    readNames: (dir) => {
      if (!listing.stats.has(dir)) throw enoent(dir);
      return [...(listing.children.get(dir) ?? [])];
    },
    lstat: (file) => {
      const stat = listing.stats.get(file);
      if (stat === undefined) throw enoent(file);
      return stat;
    },
    readLink: (file) => {
      const target = listing.links.get(file);
      if (target === undefined) throw enoent(file);
      return target;
    },
    isSqlite: (file) => listing.stats.get(file)?.sqlite === true,
  };
}

/** Scans the mounts in the target with the local scan's rules; the listing is kept for the writer (database -wal identities). */
export async function scanRemoteMounts(
  transport: Transport,
  mounts: BundleMount[],
  selection: Selection,
  managedLinks: string[],
): Promise<{ scan: ScanResult; listing: RemoteListing }> {
  const listing = await listRemote(transport, mounts.map((m) => m.dir));
  await markDatabases(transport, listing);
  const scan = scanMounts(mounts, selection, managedLinks, [], remoteView(listing));
  scan.warnings.push(...listing.warnings);
  return { scan, listing };
}
