import fs from 'node:fs';
import { fsPath } from '../../fs-safety/fs-path.js';
import { relativePathProblem } from '../../fs-safety/safe-path.js';
import type { BundleRecord } from '../../store/bundles.js';
import { loadDatabaseChecker, startsAsDatabase } from './hash-worker.js';

/**
 * The database copies the header lists that are regular files in the payload, largest first (the
 * largest files of most bundles: one found late in the walk would leave one thread hashing it while
 * the others idle), and those of them the header records as quick_checked when they were written,
 * each with the sha256 its bytes had then (the header's quickCheckedDatabases).
 */
export interface DatabaseCopies {
  rels: string[];
  quickChecked: ReadonlyMap<string, string>;
}

export const NO_DATABASE_COPIES: DatabaseCopies = { rels: [], quickChecked: new Map() };

export function databaseCopies(record: BundleRecord, payload: string): DatabaseCopies {
  const copies: Array<{ rel: string; size: number }> = [];
  for (const { path: rel, strategy } of record.header?.stateFiles ?? []) {
    if (strategy !== 'sqlite_backup' || relativePathProblem(rel) !== undefined) continue;
    const stat = fs.lstatSync(fsPath(`${payload}/${rel}`), { throwIfNoEntry: false });
    if (stat?.isFile()) copies.push({ rel, size: stat.size });
  }
  const quickChecked = new Map((record.header?.quickCheckedDatabases ?? []).map((c) => [c.path, c.sha256]));
  return { rels: copies.sort((a, b) => b.size - a.size).map((d) => d.rel), quickChecked };
}

/** quick_check of a copy that starts as a database, as a 'check' batch runs it (undefined: ok, or no database). */
export async function databaseProblem(file: string): Promise<string | undefined> {
  return startsAsDatabase(file, Buffer.alloc(16)) ? (await loadDatabaseChecker())(file) : undefined;
}

/**
 * What SQLite makes of a database copy whose bytes are not the manifest's: whether it can still
 * read it (quick_check's answer), or that it is no SQLite database any more. Loads better-sqlite3,
 * on this damage path only.
 */
export async function sqliteVerdict(file: string): Promise<string> {
  if (!startsAsDatabase(file, Buffer.alloc(16))) return 'not an SQLite database any more';
  return (await loadDatabaseChecker())(file) ?? 'quick_check says ok (SQLite can still read it)';
}
