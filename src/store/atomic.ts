import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** fsync a directory so a rename or unlink inside it is durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A hidden name beside `target`; random, so concurrent writers (even in other processes) never share one. */
export function tempSibling(target: string, tag = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${tag}-${randomBytes(8).toString('hex')}`);
}

/** Publish a file atomically: temp file → fsync → rename → fsync dir. */
export function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o600): void {
  const temp = tempSibling(target);
  const fd = fs.openSync(temp, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(path.dirname(target));
}

/**
 * Writes a cache file by rename, without fsync: whoever reads a cache checks what it reads, so a lost
 * or damaged one only costs the work it saved. Any failure to write it (a read-only or full home) is ignored.
 */
export function writeCacheFile(target: string, data: string | Uint8Array): void {
  const temp = tempSibling(target);
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.writeFileSync(temp, data, { mode: 0o600 });
    fs.renameSync(temp, target);
  } catch {
    fs.rmSync(temp, { force: true });
  }
}

export function writeJsonAtomic(target: string, value: unknown, mode = 0o600): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n', mode);
}

/** mkdir -p with a mode for every directory it creates; fsyncs each parent it changed. */
export function ensureDir(dir: string, mode = 0o700): void {
  if (fs.existsSync(dir)) return;
  ensureDir(path.dirname(dir), mode);
  try {
    fs.mkdirSync(dir, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return;
  }
  fsyncDir(path.dirname(dir));
}

/**
 * Make everything written below `dir` durable before it is published. One
 * `sync -f` (syncfs(2)) costs far less than an fsync per file on a tree of
 * 40,000 files; where it is unavailable, fall back to fsync of every file.
 */
export function syncTree(dir: string, runSyncfs: (dir: string) => boolean): void {
  if (runSyncfs(dir)) return;
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        fsyncDir(full);
      } else if (entry.isFile()) {
        const fd = fs.openSync(full, 'r');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
    }
  };
  walk(dir);
  fsyncDir(dir);
}
