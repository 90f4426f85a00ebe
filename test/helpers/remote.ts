import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa, type ResultPromise } from 'execa';
import { REPO } from './cli.js';
import { databaseContent, isSqlite } from './sqlite.js';

export interface CreateDoc {
  snapshot: {
    dir: string;
    timestamp: string;
    files: number;
    bytes: number;
    linkedFiles: number;
    copiedFiles: number;
    databases: string[];
    via?: string;
    transferredBytes?: number;
    capturedWithoutSqlite?: string[];
    warnings: string[];
  };
}

/** Every payload file equals the live one: bytes for plain files, rows for databases. Returns how many were compared. */
export function expectPayloadMatches(payload: string, root: string, expect: (a: unknown, b: unknown, what: string) => void): number {
  let compared = 0;
  const walk = (rel: string): void => {
    for (const dirent of fs.readdirSync(path.join(payload, rel), { withFileTypes: true })) {
      const child = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      const live = path.join(root, child);
      if (dirent.isDirectory()) walk(child);
      else if (dirent.isSymbolicLink()) expect(fs.readlinkSync(path.join(payload, child)), fs.readlinkSync(live), child);
      else if (isSqlite(path.join(payload, child))) expect(databaseContent(path.join(payload, child)), databaseContent(live), child);
      else expect(fs.readFileSync(path.join(payload, child)).equals(fs.readFileSync(live)), true, child);
      compared++;
    }
  };
  walk('');
  return compared;
}

/** Starts fixtures/sqlite-writer.js on `db` (committing a row every 2 ms) and resolves once it has written (wrapped: the process is a promise itself). */
export async function startWriter(db: string): Promise<{ process: ResultPromise }> {
  const writer = execa('node', [path.join(REPO, 'dist', 'fixtures', 'sqlite-writer.js'), db, '2'], { reject: false });
  await new Promise<void>((resolve, reject) => {
    writer.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    writer.catch(reject);
  });
  return { process: writer };
}

export function rowCount(db: string): number {
  const conn = new Database(db, { readonly: true });
  try {
    return (conn.prepare('SELECT count(*) AS n FROM writes').get() as { n: number }).n;
  } finally {
    conn.close();
  }
}

export function quickCheckOk(db: string): boolean {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.pragma('quick_check', { simple: true }) === 'ok';
  } finally {
    conn.close();
  }
}
