import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ClawbackError } from '../../errors.js';
import type { NemoClawManifest } from '../../manifest/nemoclaw-manifest.js';
import { quickCheckInBundle } from '../../sqlite/backup.js';
import { isSqliteFile } from '../../sqlite/detect.js';
import { walkNemoClawBundle, type LegacyProblem } from '../bundle/nemoclaw.js';

export interface LegacyCheck {
  files: number;
  bytes: number;
  problems: LegacyProblem[];
}

/**
 * What can be checked of a NemoClaw bundle, which records no hashes: every file it holds can be
 * read to its end, every database passes quick_check (through a private copy when SQLite would
 * write beside it), no link leaves it, no file is hard-linked or special, and the dirs NemoClaw
 * recorded as backed up are there. `scratchParent` holds the private copies, never the bundle.
 */
export function checkNemoClawBundle(dir: string, manifest: NemoClawManifest, scratchParent: string, pid: number): LegacyCheck {
  const tree = walkNemoClawBundle(dir, manifest, { hash: true });
  const problems = [...tree.problems];
  for (const rel of manifest.backedUpDirs ?? []) {
    if (!fs.lstatSync(path.join(dir, rel), { throwIfNoEntry: false })?.isDirectory()) problems.push({ path: rel, problem: 'missing (NemoClaw recorded it as backed up)' });
  }
  const files = tree.entries.filter((e) => e.type === 'file');
  const databases = files.filter((e) => e.strategy === 'sqlite_backup');
  if (databases.length > 0) {
    const scratch = path.join(scratchParent, `.verify-${pid}-${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(scratch, { mode: 0o700 });
    try {
      databases.forEach((entry, i) => {
        const abs = path.join(dir, entry.path);
        if (!isSqliteFile(abs)) {
          problems.push({ path: entry.path, problem: 'is not a SQLite database, though NemoClaw captured it as one (sqlite_backup)' });
          return;
        }
        try {
          quickCheckInBundle(abs, path.join(scratch, `${i}.sqlite`), entry.path);
        } catch (error) {
          problems.push({ path: entry.path, problem: sqliteProblem(error) });
        }
      });
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  return { files: files.length, bytes: files.reduce((sum, e) => sum + (e.size ?? 0), 0), problems };
}

function sqliteProblem(error: unknown): string {
  if (error instanceof ClawbackError) return `damaged SQLite database: ${error.message}`;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_') || code.startsWith('E'))) return `SQLite cannot read it (${code}: ${(error as Error).message})`;
  throw error;
}
