import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { execa, type Result } from 'execa';
import { generateHome } from '../../fixtures/generate.js';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/clawback.js');

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const COMPANION = /-(wal|shm|journal)$/;

export interface RestoreFixture {
  dir: string;
  home: string;
  root: string;
  databases: string[];
  cli: (...args: string[]) => Promise<Result>;
  /** Runs clawback with CLAWBACK_TEST_FAULT set: it SIGKILLs itself at that fault point. */
  cliKilledAt: (point: string, ...args: string[]) => Promise<Result>;
  cleanup: () => void;
}

/** A tiny generated OpenClaw home registered as `oc` in a fresh clawback home. */
export async function openClawFixture(prefix = 'clawback-restore-'): Promise<RestoreFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const home = path.join(dir, 'home');
  const generated = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(dir, 'state') });
  const run = (fault: string, args: string[]): Promise<Result> =>
    execa('node', [BIN, ...args], { env: { ...process.env, CLAWBACK_HOME: home, CLAWBACK_TEST_FAULT: fault }, reject: false, stdin: 'ignore' });
  const cli = (...args: string[]): Promise<Result> => run('', args);
  const cliKilledAt = (point: string, ...args: string[]): Promise<Result> => run(point, args);
  const added = await cli('sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', generated.root);
  if (added.exitCode !== 0) throw new Error(`sandbox add failed: ${String(added.stderr)}`);
  return { dir, home, root: generated.root, databases: generated.databases, cli, cliKilledAt, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
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

function isSqlite(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    return fs.readSync(fd, head, 0, 16, 0) === 16 && head.equals(SQLITE_HEADER);
  } finally {
    fs.closeSync(fd);
  }
}

export interface DigestOptions {
  /** Paths (relative, POSIX) to leave out, with everything below them. */
  skip?: (rel: string) => boolean;
  /** Databases by logical content and without their -wal/-shm (a checkpoint changes bytes, not content). */
  databasesByContent?: boolean;
}

/**
 * Every path under `dir` with its type, permission bits, and bytes (sha256)
 * or link target: two trees with equal digests hold the same files.
 */
export function treeDigest(dir: string, options: DigestOptions = {}): Record<string, string> {
  const digest: Record<string, string> = {};
  const walk = (abs: string, rel: string): void => {
    for (const name of fs.readdirSync(abs).sort()) {
      const childAbs = path.join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (options.skip?.(childRel)) continue;
      const stat = fs.lstatSync(childAbs);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isDirectory()) {
        digest[childRel] = `dir ${mode}`;
        walk(childAbs, childRel);
      } else if (stat.isSymbolicLink()) {
        digest[childRel] = `link -> ${fs.readlinkSync(childAbs)}`;
      } else if (stat.isFile()) {
        if (options.databasesByContent && COMPANION.test(name) && isSqlite(childAbs.replace(COMPANION, ''))) continue;
        if (options.databasesByContent && isSqlite(childAbs)) {
          digest[childRel] = `db ${mode} ${createHash('sha256').update(JSON.stringify(databaseContent(childAbs))).digest('hex')}`;
        } else {
          digest[childRel] = `file ${mode} ${createHash('sha256').update(fs.readFileSync(childAbs)).digest('hex')}`;
        }
      } else {
        digest[childRel] = 'special';
      }
    }
  };
  walk(dir, '');
  return digest;
}

/** Leftovers a restore must never leave beside a state dir. */
export function restoreLeftovers(root: string): string[] {
  const base = path.basename(root);
  return fs.readdirSync(path.dirname(root)).filter((n) => n.startsWith(`${base}.clawback-`));
}

/** cp -a, so modes, links and mtimes survive. */
export async function copyTree(from: string, to: string): Promise<void> {
  fs.rmSync(to, { recursive: true, force: true });
  await execa('cp', ['-a', from, to]);
}

export function flipByte(file: string, offset = 0): void {
  const data = fs.readFileSync(file);
  data[offset] = data[offset]! ^ 0xff;
  // Bundle files are read-only to us only by convention; keep the inode (other bundles may share it).
  fs.writeFileSync(file, data);
}

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

export function parseJson(stdout: unknown): Record<string, unknown> {
  return JSON.parse(String(stdout)) as Record<string, unknown>;
}
