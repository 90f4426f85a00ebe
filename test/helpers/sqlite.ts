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

/** Overwrites the root page of a table in `db` with junk: the file keeps its size and header, and only SQLite (quick_check) can tell. */
export function damageRootPage(db: string): void {
  const reader = new Database(db, { readonly: true });
  const pageSize = reader.pragma('page_size', { simple: true }) as number;
  const rootPage = (reader.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'table' ORDER BY rootpage DESC LIMIT 1").get() as { rootpage: number }).rootpage;
  reader.close();
  const fd = fs.openSync(db, 'r+');
  fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (rootPage - 1) * pageSize);
  fs.closeSync(fd);
}
