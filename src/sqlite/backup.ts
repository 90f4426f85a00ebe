import fs from 'node:fs';
import Database from 'better-sqlite3';
import { IntegrityError } from '../errors.js';
import { SQLITE_COMPANION_SUFFIXES } from './detect.js';

/** Larger than any database's page count: the rest of the copy happens in one step, so a busy writer cannot restart it forever. */
const ALL_PAGES = 2 ** 30;

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
 */
export function quickCheck(file: string, label: string, options: { readonly?: boolean } = {}): void {
  const db = new Database(file, { fileMustExist: true, readonly: options.readonly === true });
  try {
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
    const answer = rows.map((r) => r.quick_check).join('; ');
    if (answer !== 'ok') throw new IntegrityError('sqlite-check-failed', `${label}: quick_check says ${answer}`);
  } finally {
    db.close();
  }
}

/**
 * Copy a live database through SQLite's online backup API into `dest` (which must
 * not exist), switch the copy to a self-contained rollback journal, fsync it and
 * quick_check it. The live -wal/-shm are read through SQLite, never copied.
 */
export async function backupDatabase(source: string, dest: string, label: string): Promise<SqliteCopy> {
  // A database with a -wal (in use, or not checkpointed) is opened read-only, so the snapshot never
  // checkpoints (rewrites) it. One without is opened read-write: there is nothing to checkpoint, and
  // as the last connection SQLite removes the -wal/-shm it created, leaving the directory as it was.
  const readonly = fs.existsSync(source + '-wal');
  let db: Database.Database;
  try {
    db = new Database(source, { fileMustExist: true, readonly });
  } catch {
    db = new Database(source, { fileMustExist: true, readonly: !readonly });
  }
  let journalMode: string;
  try {
    db.pragma('busy_timeout = 10000');
    journalMode = String(db.pragma('journal_mode', { simple: true }));
    await db.backup(dest, { progress: () => ALL_PAGES });
  } finally {
    db.close();
  }
  const copy = new Database(dest, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  for (const suffix of SQLITE_COMPANION_SUFFIXES) fs.rmSync(dest + suffix, { force: true });
  fsyncFile(dest);
  quickCheck(dest, label);
  return { journalMode };
}

/**
 * Restore a bundle's database copy into `dest` (a staged path that must not exist)
 * through the backup API, put back the journal mode the live database used, and check it.
 */
export async function restoreDatabase(bundleCopy: string, dest: string, journalMode: string | undefined, label: string): Promise<void> {
  const db = new Database(bundleCopy, { fileMustExist: true, readonly: true });
  try {
    await db.backup(dest, { progress: () => ALL_PAGES });
  } finally {
    db.close();
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
