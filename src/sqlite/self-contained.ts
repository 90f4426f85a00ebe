import fs from 'node:fs';
import { Database } from './driver.js';
import { IntegrityError } from '../errors.js';
import { quickCheck } from './backup.js';
import { SQLITE_COMPANION_SUFFIXES } from './detect.js';

/**
 * Turns a raw copy of a database (the file, with its `-wal` beside it when there was one) into one
 * self-contained rollback-journal file in place: SQLite replays the -wal, checkpoints it into the
 * file, switches the journal mode, and the result must pass quick_check. The copy is ours (never a
 * live file), so opening it read-write is safe. Throws IntegrityError when SQLite cannot read it.
 */
export function makeSelfContained(file: string, label: string): void {
  try {
    const db = new Database(file, { fileMustExist: true });
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.pragma('journal_mode = DELETE');
    } finally {
      db.close();
    }
  } catch (error) {
    if (error instanceof IntegrityError) throw error;
    throw new IntegrityError('sqlite-unreadable', `${label}: SQLite cannot read the raw copy: ${(error as Error).message}`);
  }
  for (const suffix of SQLITE_COMPANION_SUFFIXES) fs.rmSync(file + suffix, { force: true });
  quickCheck(file, label);
}
