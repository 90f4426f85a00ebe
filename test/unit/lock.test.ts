import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusyError } from '../../src/errors.js';
import { acquireLock, acquireLocks } from '../../src/store/lock.js';
import { testLockHost } from '../helpers/deps.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-lock-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function plant(name: string, pid: number): void {
  fs.writeFileSync(path.join(dir, `${name}.lock`), JSON.stringify({ pid, host: os.hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'test' }));
}

describe('sandbox locks', () => {
  it('a live holder gives BusyError (exit 7) naming it; release frees the lock', () => {
    const lock = acquireLock(dir, 'alpha', { host: testLockHost(), command: 'snapshot create' });
    let caught: unknown;
    try {
      acquireLock(dir, 'alpha', { host: testLockHost(), command: 'restore' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BusyError);
    expect((caught as BusyError).exitCode).toBe(7);
    expect((caught as BusyError).message).toContain(`pid ${process.pid}`);
    expect((caught as BusyError).message).toContain('snapshot create');
    lock.release();
    expect(fs.existsSync(path.join(dir, 'alpha.lock'))).toBe(false);
    acquireLock(dir, 'alpha', { host: testLockHost(), command: 'again' }).release();
  });

  it('takes over a lock whose pid is dead on this host', () => {
    plant('beta', 4_194_000);
    const lock = acquireLock(dir, 'beta', { host: testLockHost(), command: 'prune' });
    const holder = JSON.parse(fs.readFileSync(path.join(dir, 'beta.lock'), 'utf8')) as { pid: number; command: string };
    expect(holder).toMatchObject({ pid: process.pid, command: 'prune' });
    expect(fs.readdirSync(dir).filter((n) => n.includes('takeover'))).toEqual([]);
    lock.release();
  });

  it('never removes a lock that is not its own', () => {
    const lock = acquireLock(dir, 'gamma', { host: testLockHost(), command: 'a' });
    plant('gamma', 1); // someone else's record now sits in the file (pid 1 is alive)
    lock.release();
    expect(fs.existsSync(path.join(dir, 'gamma.lock'))).toBe(true);
  });

  it('waits for a holder up to waitMs', () => {
    plant('delta', 1);
    const started = Date.now();
    expect(() => acquireLock(dir, 'delta', { host: testLockHost(), command: 'x', waitMs: 300 })).toThrow(BusyError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('takes several locks in sorted order and gives all back if one is busy', () => {
    plant('b', 1);
    expect(() => acquireLocks(dir, ['c', 'b', 'a'], { host: testLockHost(), command: 'restore --to' })).toThrow(BusyError);
    expect(fs.existsSync(path.join(dir, 'a.lock'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'c.lock'))).toBe(false);
    fs.rmSync(path.join(dir, 'b.lock'));
    const both = acquireLocks(dir, ['c', 'a'], { host: testLockHost(), command: 'restore --to' });
    expect(fs.readdirSync(dir).sort()).toEqual(['a.lock', 'c.lock']);
    both.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
