import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export function isSqlite(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    return fs.readSync(fd, head, 0, 16, 0) === 16 && head.equals(SQLITE_HEADER);
  } finally {
    fs.closeSync(fd);
  }
}

/** Logical content of a database: every table's rows. Read from a copy, so the tree under test is not touched. */
export function databaseContent(file: string): Record<string, unknown[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-db-'));
  try {
    const copy = path.join(scratch, 'db');
    fs.copyFileSync(file, copy);
    for (const suffix of ['-wal', '-shm']) if (fs.existsSync(file + suffix)) fs.copyFileSync(file + suffix, copy + suffix);
    const db = new Database(copy);
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
      const content: Record<string, unknown[]> = {};
      for (const { name } of tables) content[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
      return content;
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Deletes three rows of the first table: a write that changes the content, not just the bytes. */
export function writeDatabaseRow(file: string): void {
  const db = new Database(file);
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
    const table = tables[0]!.name;
    db.prepare(`DELETE FROM "${table}" WHERE rowid IN (SELECT rowid FROM "${table}" LIMIT 3)`).run();
  } finally {
    db.close();
  }
}
