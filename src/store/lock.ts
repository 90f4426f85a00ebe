import fs from 'node:fs';
import path from 'node:path';
import { asUserError, BusyError, errnoCode } from '../errors.js';
import { ensureDir, fsyncDir } from './atomic.js';

interface LockRecord {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export interface Lock {
  readonly path: string;
  release(): void;
}

/** Who takes a lock, and how it tells whether a holder still runs: the host's facts, passed in (the store reads none). */
export interface LockHost {
  pid: number;
  hostname: string;
  /** Whether a process with this pid exists on this host. */
  isAlive(pid: number): boolean;
  /** Milliseconds, for the wait deadline and an empty lock's age. */
  clock(): number;
}

export interface LockOptions {
  command: string;
  host: LockHost;
  /** How long to wait for a live holder, in milliseconds. 0 = fail at once. */
  waitMs?: number;
  now?: () => Date;
}

function readHolder(file: string): LockRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockRecord;
  } catch {
    return undefined;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Writes the record under a temp name, then hard-links it into place: the lock
 * file appears whole or not at all, so a write that fails (a full disk) leaves
 * no empty lock behind for the next command to wait on. False when a lock is
 * already there; the temp file is gone either way.
 */
function publishLock(file: string, record: LockRecord): boolean {
  const temp = `${file}${TEMP_INFIX}${record.pid}`;
  fs.rmSync(temp, { force: true });
  try {
    const fd = fs.openSync(temp, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, JSON.stringify(record));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(temp, file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Temp files of processes killed between writing and linking (`<name>.lock.tmp-<pid>`, pid dead). Best effort. */
function removeDeadTemps(lockDir: string, name: string, host: LockHost): void {
  const prefix = `${name}.lock${TEMP_INFIX}`;
  let entries: string[];
  try {
    entries = fs.readdirSync(lockDir);
  } catch {
    return; // A dir we may write but not list: the lock itself says what is wrong, if anything.
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (Number.isSafeInteger(pid) && pid > 0 && !host.isAlive(pid)) fs.rmSync(path.join(lockDir, entry), { force: true });
  }
}

const TEMP_INFIX = '.tmp-';

/**
 * A lock file recording pid, host and start time, created only if absent. A
 * lock whose pid is dead on this host is stale and taken over (restic's rule);
 * a live one waits up to waitMs, then raises BusyError (exit 7). A lock that
 * cannot be written (permissions, a full disk) is a user error naming it.
 */
export function acquireLock(lockDir: string, name: string, options: LockOptions): Lock {
  const file = path.join(lockDir, `${name}.lock`);
  try {
    return acquireLockFile(lockDir, name, file, options);
  } catch (error) {
    throw asUserError(error, file, { nothingWritten: true });
  }
}

function acquireLockFile(lockDir: string, name: string, file: string, options: LockOptions): Lock {
  ensureDir(lockDir);
  const { host } = options;
  removeDeadTemps(lockDir, name, host);
  const deadline = host.clock() + (options.waitMs ?? 0);
  const record: LockRecord = {
    pid: host.pid,
    host: host.hostname,
    startedAt: (options.now ?? (() => new Date()))().toISOString(),
    command: options.command,
  };
  for (;;) {
    if (publishLock(file, record)) {
      fsyncDir(lockDir);
      let released = false;
      return {
        path: file,
        release() {
          if (released) return;
          released = true;
          const holder = readHolder(file);
          if (holder && holder.pid === record.pid && holder.startedAt === record.startedAt) fs.rmSync(file, { force: true });
        },
      };
    }
    const holder = readHolder(file);
    if (holder === undefined) {
      // An empty file is left by an older clawback that crashed between open and write; give it a moment, then take it.
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      if (stat && host.clock() - stat.mtimeMs > 2000) {
        fs.rmSync(file, { force: true });
        continue;
      }
    } else if (holder.host === host.hostname && !host.isAlive(holder.pid)) {
      takeOverStale(file, holder, host.pid);
      continue;
    }
    if (host.clock() >= deadline) {
      const who = holder ? `pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.startedAt})` : 'another process';
      throw new BusyError(`${name} is locked by ${who}`, {
        hint: 'wait for it to finish, or pass --wait SECONDS',
      });
    }
    sleepSync(Math.min(200, Math.max(10, deadline - host.clock())));
  }
}

/** Remove a stale lock only if it is still the one we judged stale (another process may have taken it over first). */
function takeOverStale(file: string, stale: LockRecord, pid: number): void {
  const current = readHolder(file);
  if (current && current.pid === stale.pid && current.startedAt === stale.startedAt) {
    const claim = `${file}.takeover-${pid}`;
    try {
      fs.renameSync(file, claim);
    } catch {
      return; // Someone else moved it first; the loop retries.
    }
    const taken = readHolder(claim);
    if (!taken || (taken.pid === stale.pid && taken.startedAt === stale.startedAt)) {
      fs.rmSync(claim, { force: true });
      return;
    }
    // Between our check and the rename another process replaced the stale lock with its own live one:
    // put it back (link fails if yet another lock appeared meanwhile, which then stands).
    try {
      fs.linkSync(claim, file);
    } catch {
      // EEXIST: leave the newer lock in place.
    }
    fs.rmSync(claim, { force: true });
  }
}

/**
 * Whether a live process holds the lock now, without taking it: a holder on another host counts
 * as live, a dead pid on this host does not, and a file not yet readable counts as held.
 */
export function lockIsHeld(lockDir: string, name: string, host: Pick<LockHost, 'hostname' | 'isAlive'>): boolean {
  const file = path.join(lockDir, `${name}.lock`);
  if (!fs.existsSync(file)) return false;
  const holder = readHolder(file);
  return holder === undefined || holder.host !== host.hostname || host.isAlive(holder.pid);
}

/** Take several locks in sorted order so two commands needing the same pair never deadlock. */
export function acquireLocks(lockDir: string, names: string[], options: LockOptions): Lock {
  const sorted = [...new Set(names)].sort();
  const held: Lock[] = [];
  try {
    for (const name of sorted) held.push(acquireLock(lockDir, name, options));
  } catch (error) {
    for (const lock of held.reverse()) lock.release();
    throw error;
  }
  return {
    path: held.map((l) => l.path).join(','),
    release() {
      for (const lock of [...held].reverse()) lock.release();
    },
  };
}
