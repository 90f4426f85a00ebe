import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Writes an executable script and returns a hook command that runs it (quoted for `sh -c`). */
export function writeHookScript(dir: string, name: string, body: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, body, { mode: 0o755 });
  return `'${file.replace(/'/g, `'\\''`)}'`;
}

/**
 * Holds a sandbox's lock the way a live clawback process would (this test process's pid), so a
 * command that needs it finds it busy. Returns the release function.
 */
export function holdSandboxLock(home: string, sandbox: string): () => void {
  const dir = path.join(home, 'locks');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${sandbox}.lock`);
  fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: 'test holder' }), { flag: 'wx' });
  return () => fs.rmSync(file, { force: true });
}

/** A small hand-built agent home: a few workspace files, a nested dir, a relative link. */
export function writeSmallHome(root: string, marker: string): void {
  fs.mkdirSync(path.join(root, 'workspace', 'notes'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(root, 'workspace', 'SOUL.md'), `# ${marker}\n`);
  fs.writeFileSync(path.join(root, 'workspace', 'notes', 'today.md'), `notes of ${marker}\n`, { mode: 0o640 });
  fs.symlinkSync('SOUL.md', path.join(root, 'workspace', 'soul-link'));
  fs.writeFileSync(path.join(root, 'openclaw.json'), JSON.stringify({ ui: { theme: 'dark' }, gateway: { auth: { token: `${marker}-token` } } }, null, 2) + '\n', { mode: 0o600 });
}

/** A named pipe: a hook that reads it blocks until the test writes, so "did not wait for the hook" needs no clock. */
export function makeFifo(file: string): string {
  execFileSync('mkfifo', [file]);
  return file;
}

/**
 * Opens the FIFO for writing without blocking. If a process is still blocked reading it, sends it a
 * line (which lets it finish) and returns true; returns false when no process has it open for reading.
 */
export function releaseFifoReader(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw error;
  }
  try {
    fs.writeSync(fd, 'go\n');
  } finally {
    fs.closeSync(fd);
  }
  return true;
}
