import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError } from '../../errors.js';
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

/** Backs up every database named on stdin (NUL-separated) into `<prefix><i>`, printing `<i> ok|busy|fail [why]` per line. */
const PYTHON = [
  'import os, sqlite3, sys, urllib.parse',
  'prefix, wait = sys.argv[1], float(sys.argv[2])',
  "for i, raw in enumerate(p for p in sys.stdin.buffer.read().split(b'\\0') if p):",
  '    try:',
  "        src = sqlite3.connect('file:' + urllib.parse.quote(raw) + '?mode=ro', uri=True, timeout=wait)",
  '        dst = sqlite3.connect(prefix + str(i))',
  '        src.backup(dst)',
  '        src.close()',
  "        dst.execute('PRAGMA journal_mode=DELETE')",
  "        ok = dst.execute('PRAGMA quick_check').fetchone()[0]",
  '        dst.close()',
  "        print(i, 'ok' if ok == 'ok' else 'fail quick_check says ' + ok, flush=True)",
  '    except Exception as e:',
  "        print(i, 'busy' if 'locked' in str(e) else 'fail', str(e).replace('\\n', ' '), flush=True)",
].join('\n');

/** A printf format that prints exactly `bytes` (every byte outside plain ASCII as an octal escape). */
function printfLiteral(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) out += byte >= 0x20 && byte < 0x7f && byte !== 0x27 && byte !== 0x5c && byte !== 0x25 ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`;
  return out;
}

/** The script that backs every database up inside the target into `<prefix><i>`, one status line each. */
function backupScript(method: 'python3' | 'sqlite3', sources: readonly string[], prefix: string, waitMs: number): string {
  if (method === 'python3') return `python3 -c ${shellQuote(PYTHON)} ${shellQuote(prefix)} ${(waitMs / 1000).toFixed(1)}`;
  const lines = [
    `P=${shellQuote(prefix)}`,
    'b() {',
    '  E=$(sqlite3 -readonly -cmd \'.timeout ' + Math.floor(waitMs) + '\' "$2" ".backup main \'$P$1\'" 2>&1 >/dev/null) || { case "$E" in *locked*) echo "$1 busy $E";; *) echo "$1 fail $E";; esac; return; }',
    '  R=$(sqlite3 "$P$1" "PRAGMA journal_mode=DELETE; PRAGMA quick_check;" 2>&1) || { echo "$1 fail $R"; return; }',
    '  case "$R" in *ok) echo "$1 ok";; *) echo "$1 fail quick_check says $R";; esac',
    '}',
  ];
  sources.forEach((source, i) => lines.push(`S=$(printf '${printfLiteral(encodeName(source))}'; printf x); b ${i} "\${S%x}"`));
  return lines.join('\n');
}

function hashFile(file: string): { sha256: string; size: number } {
  const data = fs.readFileSync(file);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

const RAW_ATTEMPTS = 3;

export class RemoteDatabaseCapture {
  transferredBytes = 0;

  constructor(
    private readonly transport: Transport,
    readonly method: DatabaseMethod,
    /** The prefix of this command's temp files in the target (beside the root). */
    private readonly remotePrefix: string,
    /** A private scratch dir on this host. */
    private readonly scratch: string,
    private readonly waitMs: number,
  ) {}

  /**
   * Captures the databases into `files` (new paths on this host), each checked here with
   * quick_check: in the target through SQLite in three commands whatever their number (back all
   * up, stream the copies in one tar, remove them); what SQLite there could not open, and every
   * database when the target has no SQLite, the raw way.
   */
  async captureAll(dbs: readonly RemoteDatabase[], files: readonly string[]): Promise<DatabaseOutcome[]> {
    const outcomes: Array<DatabaseOutcome | undefined> = this.method === 'raw' ? dbs.map(() => undefined) : await this.backupInTarget(dbs, files, this.method);
    for (const [i, db] of dbs.entries()) outcomes[i] ??= await this.captureRaw(db, files[i]!);
    return outcomes as DatabaseOutcome[];
  }

  private async backupInTarget(dbs: readonly RemoteDatabase[], files: readonly string[], method: 'python3' | 'sqlite3'): Promise<Array<DatabaseOutcome | undefined>> {
    const input = Buffer.concat(dbs.flatMap((db) => [encodeName(db.source), Buffer.of(0)]));
    const temp = (i: number): string => `${this.remotePrefix}${i}`;
    try {
      const status = await this.transport.run(backupScript(method, dbs.map((db) => db.source), this.remotePrefix, this.waitMs), `${method} backup of ${dbs.length} database(s)`, { input });
      this.transferredBytes += status.length;
      const lines = new Map(status.toString('utf8').split('\n').filter((line) => line !== '').map((line) => [Number(line.split(' ')[0]), line.split(' ').slice(1).join(' ')] as const));
      const ok = dbs.map((_, i) => lines.get(i) === 'ok');
      const fetched = await fetchFiles(this.transport, dbs.flatMap((_, i) => (ok[i] ? [{ source: temp(i), dest: files[i]!, mode: 0o600 }] : [])));
      this.transferredBytes += fetched.transferredBytes;
      return dbs.map((db, i): DatabaseOutcome | undefined => {
        const said = lines.get(i) ?? 'fail no answer';
        if (said.startsWith('busy')) return { kind: 'busy', reason: `locked by another process in the target (${method})` };
        const got = fetched.fetched.get(temp(i));
        if (!ok[i] || got === undefined) return undefined;
        quickCheck(files[i]!, db.label, { readonly: true });
        return { kind: 'captured', method, ...got };
      });
    } finally {
      await this.transport.run(`rm -f -- ${dbs.map((_, i) => shellQuote(temp(i))).flatMap((t) => [t, `${t}-journal`]).join(' ')}`, `rm -f ${this.remotePrefix}*`).catch(() => undefined);
    }
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
