import fs from 'node:fs';
import { Database } from './driver.js';
import { BusyError, ClawbackError, IntegrityError, RefusedError } from '../errors.js';
import { SQLITE_COMPANION_SUFFIXES, walModeHeader } from './detect.js';

/** Larger than any database's page count: the rest of the copy happens in one step, so a busy writer cannot restart it forever. */
const ALL_PAGES = 2 ** 30;

/** The backup source connection's `cache_size`: negative is KiB, so 1 MiB. */
const SOURCE_CACHE_SIZE = -1024;

/** quick_check's `cache_size`: 2 MiB. */
const CHECK_CACHE_SIZE = -2048;

/** How long a snapshot waits for a database another process holds locked. */
export const DEFAULT_BUSY_WAIT_MS = 10_000;

export interface SqliteCopy {
  journalMode: string;
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Runs `PRAGMA quick_check` and throws IntegrityError unless it answers ok.
 * `readonly` for copies inside a published bundle: a read-write open may leave -wal/-shm files there.
 * The file is read page by page, never mapped: a mapping would count the whole database in this
 * process's resident memory (measured: verify of `large` 185 MiB mapped against ~95 read), for
 * about a third of the check's time saved.
 */
export function quickCheck(file: string, label: string, options: { readonly?: boolean } = {}): void {
  const db = new Database(file, { fileMustExist: true, readonly: options.readonly === true });
  try {
    // The check visits each page about once: 2 MiB of cache reads as few pages as 16 (measured on 500 MB), for 14 MiB less resident memory.
    db.pragma(`cache_size = ${CHECK_CACHE_SIZE}`);
    let answer: string;
    try {
      answer = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check).join('; ');
    } catch (error) {
      // Damage bad enough that the check itself cannot run is what the check is for.
      const code = (error as { code?: unknown }).code;
      if (code !== 'SQLITE_CORRUPT' && code !== 'SQLITE_NOTADB') throw error;
      answer = (error as Error).message;
    }
    if (answer !== 'ok') throw new IntegrityError('sqlite-check-failed', `${label}: quick_check says ${answer}`);
  } finally {
    db.close();
  }
}

export interface BackupOptions<T> {
  busyWaitMs?: number;
  /**
   * Work on the finished copy that runs while quick_check reads it (say, hashing it on another
   * thread): started once the copy is complete, fsynced and no longer written, awaited after the
   * check. It must only read the copy. When the check fails its outcome is ignored and the check's
   * error is thrown, as without it.
   */
  whileChecking?: (copy: string) => Promise<T>;
}

/**
 * Copy a live database into `dest` (which must not exist), switch the copy to a self-contained
 * rollback journal, fsync it and quick_check it. Capture never creates, changes or leaves a file in
 * the state root, which may be read-only or on a full filesystem: the live database is only ever
 * opened read-only, and its -wal/-shm are read through SQLite, never copied.
 */
export async function backupDatabase<T = undefined>(source: string, dest: string, label: string, options: BackupOptions<T> = {}): Promise<SqliteCopy & { alongside?: T }> {
  let journalMode: string;
  try {
    journalMode = (await copyClosedWalDatabase(source, dest)) ?? (await backupLiveDatabase(source, dest, options.busyWaitMs ?? DEFAULT_BUSY_WAIT_MS));
  } catch (error) {
    fs.rmSync(dest, { force: true });
    throw sqliteFailure(error, source, dest, label);
  }
  try {
    const copy = new Database(dest, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
  } catch (error) {
    throw sqliteFailure(error, dest, dest, label);
  }
  for (const suffix of SQLITE_COMPANION_SUFFIXES) fs.rmSync(dest + suffix, { force: true });
  fsyncFile(dest);
  if (options.whileChecking === undefined) {
    quickCheck(dest, label);
    return { journalMode };
  }
  // From here on nothing writes the copy: it has no companions left, and the check opens it read-only.
  const alongside = options.whileChecking(dest);
  try {
    quickCheck(dest, label, { readonly: true });
  } catch (error) {
    await alongside.catch(() => undefined);
    throw error;
  }
  return { journalMode, alongside: await alongside };
}

/**
 * Through the online backup API on a read-only connection. A read-only connection never
 * checkpoints (rewrites) the database and never removes or creates its -wal/-shm while they exist;
 * a rollback-journal database is read under a shared lock, which creates no file at all.
 */
async function backupLiveDatabase(source: string, dest: string, busyWaitMs: number): Promise<string> {
  const db = new Database(source, { fileMustExist: true, readonly: true });
  try {
    // A bounded wait: a process holding the database under locking_mode=EXCLUSIVE (as Chromium does) never lets go.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyWaitMs))}`);
    // The copy reads each page once, in order: a page cache only adds to resident memory (16 MiB by default; measured: same time).
    db.pragma(`cache_size = ${SOURCE_CACHE_SIZE}`);
    const journalMode = String(db.pragma('journal_mode', { simple: true }));
    await db.backup(dest, { progress: () => ALL_PAGES });
    return journalMode;
  } finally {
    db.close();
  }
}

const CLOSED_COPY_ATTEMPTS = 3;

/**
 * A WAL-mode database without a -wal file was closed cleanly: the file alone holds every commit.
 * A read-only connection would have to create -wal and -shm beside it (and leave them there; in a
 * directory it cannot write it fails with "attempt to write a readonly database"), so its bytes are
 * copied instead. That is safe because any writer must create the -wal before it changes the file:
 * the copy stands only if the -wal is still absent and the file unchanged afterwards, else it is
 * taken again (or through SQLite, once a -wal exists). SQLite's `immutable`/`nolock` open would do
 * the same without that check, trusting that no writer appears; this build takes no URI filenames,
 * and the check is what makes it safe. Returns undefined when the database is not such a one.
 */
async function copyClosedWalDatabase(source: string, dest: string): Promise<string | undefined> {
  for (let attempt = 0; attempt < CLOSED_COPY_ATTEMPTS; attempt++) {
    if (fs.existsSync(source + '-wal') || !walModeHeader(source)) return undefined;
    const before = fs.statSync(source);
    fs.copyFileSync(source, dest, fs.constants.COPYFILE_EXCL);
    const after = fs.statSync(source);
    const unchanged = before.ino === after.ino && before.size === after.size && before.mtimeMs === after.mtimeMs && before.ctimeMs === after.ctimeMs;
    if (unchanged && !fs.existsSync(source + '-wal')) return 'wal';
    fs.rmSync(dest, { force: true });
  }
  return undefined;
}

/**
 * SQLite's own failures as clawback errors naming the file: a full disk or an I/O error becomes the
 * OS error it stands for (the caller maps it with what it knows), a damaged file an integrity error.
 */
function sqliteFailure(error: unknown, source: string, dest: string, label: string): unknown {
  if (error instanceof ClawbackError) return error;
  const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  const asOs = (errno: string, file: string): Error => Object.assign(new Error(`${errno}: ${message}`), { code: errno, path: file, cause: error });
  if (code === 'SQLITE_FULL') return asOs('ENOSPC', dest);
  if (code.startsWith('SQLITE_IOERR')) return asOs('EIO', source);
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM' || code === 'SQLITE_READONLY_DIRECTORY') return asOs('EACCES', source);
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new IntegrityError('sqlite-unreadable', `${label}: SQLite cannot read ${source}: ${message}`, { hint: 'repair or move the database aside, or restore it from an earlier snapshot' });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return new BusyError(`${label}: ${source} stayed locked by another process`, { hint: 'stop the agent, or try again when it is idle' });
  if (code === 'SQLITE_READONLY_ROLLBACK' || code === 'SQLITE_READONLY_RECOVERY') {
    return new RefusedError('sqlite-needs-recovery', `${label}: ${source} has an unfinished transaction that only a writer can roll back`, {
      hint: 'open the database once with its agent (or the sqlite3 shell) as its owner, then snapshot again',
    });
  }
  return error;
}

/**
 * Restore a bundle's database copy into `dest` (a staged path that must not exist)
 * through the backup API, put back the journal mode the live database used, and check it.
 */
export async function restoreDatabase(bundleCopy: string, dest: string, journalMode: string | undefined, label: string): Promise<void> {
  try {
    await restoreThroughBackup(bundleCopy, dest, journalMode, label);
  } catch (error) {
    throw sqliteFailure(error, bundleCopy, dest, label);
  }
}

/**
 * Whether SQLite, even read-only, would write beside this copy: a WAL-mode file needs a -shm (and
 * a -wal), and a -wal or hot -journal beside it must be read or rolled back. A bundle is never
 * changed, so such a copy is only ever opened as a private copy (NemoClaw's bundles hold such files).
 */
export function needsPrivateCopy(file: string): boolean {
  return walModeHeader(file) || SQLITE_COMPANION_SUFFIXES.some((suffix) => fs.existsSync(file + suffix));
}

/** Copies `file` and its companions to `dest` (which must not exist); the caller removes it with removeCopy. */
export function privateCopy(file: string, dest: string): string {
  fs.copyFileSync(file, dest, fs.constants.COPYFILE_EXCL);
  fs.chmodSync(dest, 0o600);
  for (const suffix of SQLITE_COMPANION_SUFFIXES) if (fs.existsSync(file + suffix)) fs.copyFileSync(file + suffix, dest + suffix, fs.constants.COPYFILE_EXCL);
  return dest;
}

export function removeCopy(copy: string): void {
  for (const name of [copy, ...SQLITE_COMPANION_SUFFIXES.map((suffix) => copy + suffix)]) fs.rmSync(name, { force: true });
}

/** quick_check of a database inside a bundle, which is never opened in place when SQLite would write beside it. */
export function quickCheckInBundle(file: string, scratch: string, label: string): void {
  if (!needsPrivateCopy(file)) return quickCheck(file, label, { readonly: true });
  const copy = privateCopy(file, scratch);
  try {
    quickCheck(copy, label);
  } finally {
    removeCopy(copy);
  }
}

async function restoreThroughBackup(bundleCopy: string, dest: string, journalMode: string | undefined, label: string): Promise<void> {
  // Read-write on a private copy, so that a -wal it came with is read and a hot journal rolled back there.
  const source = needsPrivateCopy(bundleCopy) ? privateCopy(bundleCopy, `${dest}.source`) : undefined;
  try {
    const db = new Database(source ?? bundleCopy, { fileMustExist: true, readonly: source === undefined });
    try {
      db.pragma(`cache_size = ${SOURCE_CACHE_SIZE}`);
      await db.backup(dest, { progress: () => ALL_PAGES });
    } finally {
      db.close();
    }
  } finally {
    if (source !== undefined) removeCopy(source);
  }
  const restored = new Database(dest, { fileMustExist: true });
  try {
    if (journalMode && journalMode.toLowerCase() === 'wal') restored.pragma('journal_mode = WAL');
  } finally {
    restored.close();
  }
  for (const suffix of SQLITE_COMPANION_SUFFIXES) fs.rmSync(dest + suffix, { force: true });
  fsyncFile(dest);
  quickCheck(dest, label);
}
