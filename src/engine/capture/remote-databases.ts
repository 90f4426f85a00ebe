import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError } from '../../errors.js';
import { writeAll } from '../../formats/file-io.js';
import { quickCheck } from '../../sqlite/backup.js';
import { makeSelfContained } from '../../sqlite/self-contained.js';
import { encodeName } from '../../fs-safety/fs-path.js';
import { shellQuote, type Transport } from '../../transport/index.js';
import { fetchFiles } from './remote-files.js';

/**
 * Databases in a remote target (SPEC §11): backed up inside the target through SQLite — python3's
 * sqlite3 module (`src.backup(dst)`, as NemoClaw did) or the sqlite3 binary (`.backup`) — into a
 * temp file beside the root, quick_check'ed there, streamed back and checked again here. With
 * neither, the file and its -wal are copied raw and made self-contained and checked here, retried
 * when the check fails ("captured without SQLite in the sandbox").
 */

export type DatabaseMethod = 'python3' | 'sqlite3' | 'raw';

export interface RemoteDatabase {
  /** The payload path, for messages. */
  label: string;
  source: string;
  /** The live -wal exists (the raw method copies it too). */
  hasWal: boolean;
}

export type DatabaseOutcome =
  | { kind: 'captured'; method: DatabaseMethod; sha256: string; size: number }
  | { kind: 'busy'; reason: string };

/** What the target offers for databases, best first. */
export async function probeDatabaseMethod(transport: Transport): Promise<DatabaseMethod> {
  const out = await transport.run(
    "if command -v python3 >/dev/null 2>&1 && python3 -c 'import sqlite3' >/dev/null 2>&1; then echo python3; elif command -v sqlite3 >/dev/null 2>&1; then echo sqlite3; else echo raw; fi",
    'command -v python3 sqlite3',
  );
  const method = out.toString().trim();
  return method === 'python3' || method === 'sqlite3' ? method : 'raw';
}

const PYTHON = [
  'import os, sqlite3, sys, urllib.parse',
  "src = sqlite3.connect('file:' + urllib.parse.quote(os.fsencode(sys.argv[1])) + '?mode=ro', uri=True, timeout=float(sys.argv[3]))",
  'dst = sqlite3.connect(sys.argv[2])',
  'src.backup(dst)',
  'src.close()',
  "dst.execute('PRAGMA journal_mode=DELETE')",
  "ok = dst.execute('PRAGMA quick_check').fetchone()[0]",
  'dst.close()',
  "if ok != 'ok':",
  "    sys.stderr.write('quick_check says ' + ok + '\\n'); sys.exit(4)",
].join('\n');

/** The script that backs the database (path on stdin) up into `temp` inside the target and prints the copy. */
function backupScript(method: 'python3' | 'sqlite3', temp: string, waitMs: number): string {
  const backup = method === 'python3'
    ? `python3 -c ${shellQuote(PYTHON)} "$SRC" "$TMP" ${(waitMs / 1000).toFixed(1)} || exit $?`
    : [
        `sqlite3 -readonly -cmd '.timeout ${Math.floor(waitMs)}' "$SRC" ".backup main '$TMP'" || exit $?`,
        'R=$(sqlite3 "$TMP" "PRAGMA journal_mode=DELETE; PRAGMA quick_check;") || exit $?',
        '[ "${R##*\n}" = ok ] || { echo "quick_check says ${R##*\n}" >&2; exit 4; }',
      ].join('\n');
  return [
    'SRC=$(cat; printf x); SRC=${SRC%x}',
    `TMP=${shellQuote(temp)}`,
    'cleanup() { rm -f "$TMP" "$TMP-journal" "$TMP-wal"; }',
    "trap cleanup EXIT; trap 'cleanup; exit 129' HUP INT TERM PIPE",
    backup,
    'cat "$TMP"',
  ].join('\n');
}

/** Streams the target's copy into `file`, hashing it. */
async function receive(transport: Transport, script: string, input: Buffer, file: string): Promise<{ code: number; stderr: string; sha256: string; size: number; bytes: number }> {
  const proc = transport.spawn(script);
  proc.stdin.end(input);
  const fd = fs.openSync(file, 'wx', 0o600);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      writeAll(fd, chunk);
      hash.update(chunk);
      size += chunk.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  const outcome = await proc.done;
  return { ...outcome, sha256: hash.digest('hex'), size, bytes: size };
}

function hashFile(file: string): { sha256: string; size: number } {
  const data = fs.readFileSync(file);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

const RAW_ATTEMPTS = 3;

export class RemoteDatabaseCapture {
  transferredBytes = 0;
  private count = 0;

  constructor(
    private readonly transport: Transport,
    readonly method: DatabaseMethod,
    /** A new temp path in the target for the n-th backup. */
    private readonly remoteTemp: (n: number) => string,
    /** A private scratch dir on this host. */
    private readonly scratch: string,
    private readonly waitMs: number,
  ) {}

  /** Captures one database into `file` (a new path on this host), checked there with quick_check. */
  async capture(db: RemoteDatabase, file: string): Promise<DatabaseOutcome> {
    if (this.method !== 'raw') {
      const outcome = await this.backupInTarget(db, file, this.method);
      if (outcome !== undefined) return outcome;
    }
    return this.captureRaw(db, file);
  }

  /** undefined: SQLite in the target could not open it (e.g. a WAL database without its -shm): the raw way is tried. */
  private async backupInTarget(db: RemoteDatabase, file: string, method: 'python3' | 'sqlite3'): Promise<DatabaseOutcome | undefined> {
    const script = backupScript(method, this.remoteTemp(this.count++), this.waitMs);
    const result = await receive(this.transport, script, encodeName(db.source), file);
    this.transferredBytes += result.bytes;
    if (result.code !== 0) {
      fs.rmSync(file, { force: true });
      if (/database is locked|SQLITE_BUSY/i.test(result.stderr)) return { kind: 'busy', reason: `locked by another process in the target (${method})` };
      if (/unable to open database|readonly|disk I\/O error|quick_check says/i.test(result.stderr) && result.code !== 255) return undefined;
      throw this.transport.failure(`${method} backup of ${db.label}`, result);
    }
    quickCheck(file, db.label, { readonly: true });
    return { kind: 'captured', method, sha256: result.sha256, size: result.size };
  }

  private async captureRaw(db: RemoteDatabase, file: string): Promise<DatabaseOutcome> {
    let last: unknown;
    for (let attempt = 0; attempt < RAW_ATTEMPTS; attempt++) {
      const dir = fs.mkdtempSync(path.join(this.scratch, 'raw-'));
      const copy = path.join(dir, 'db');
      try {
        const jobs = [{ source: db.source, dest: copy, mode: 0o600 }, ...(db.hasWal ? [{ source: `${db.source}-wal`, dest: `${copy}-wal`, mode: 0o600 }] : [])];
        const fetched = await fetchFiles(this.transport, jobs);
        this.transferredBytes += fetched.transferredBytes;
        if (!fetched.fetched.has(db.source)) throw new IntegrityError('sqlite-unreadable', `${db.label}: vanished while being copied`);
        makeSelfContained(copy, db.label);
        fs.renameSync(copy, file);
        return { kind: 'captured', method: 'raw', ...hashFile(file) };
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        last = error;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    throw last;
  }
}
