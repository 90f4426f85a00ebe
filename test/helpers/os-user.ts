import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { execa, type Result } from 'execa';
import { expect } from 'vitest';
import { BIN } from './cli.js';

/** The unprivileged user the permission tests run the binary as (root ignores mode bits). */
export const NOBODY = 65534;

function works(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why tests that switch to `nobody` cannot run here, or undefined when they can. */
export function switchUserUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to run the binary as nobody against a root-owned home';
  if (!works('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true'])) return 'setpriv cannot switch to nobody here';
  return undefined;
}

/** Why tests that mount a small tmpfs cannot run here, or undefined when they can. */
export function tmpfsUnavailable(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  if (!works('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir])) return 'mount -t tmpfs is not permitted here';
  works('umount', [dir]);
  return undefined;
}

export function mountTmpfs(dir: string, options: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
}

/** A read-only view of `source` at `target`, or false when bind mounts are not permitted here. */
export function bindReadOnly(source: string, target: string): boolean {
  fs.mkdirSync(target, { recursive: true });
  if (!works('mount', ['--bind', source, target])) return false;
  if (!works('mount', ['-o', 'remount,ro,bind', target])) {
    works('umount', [target]);
    return false;
  }
  return true;
}

export function unmount(dir: string): void {
  works('umount', [dir]);
}

/** Runs the built binary as nobody, with CLAWBACK_HOME set, no TTY and HOME in a place nobody may read. */
export function clawbackAsNobody(home: string, args: string[], userHome: string): Promise<Result> {
  return execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    env: { ...process.env, NO_COLOR: '1', CLAWBACK_HOME: home, HOME: userHome },
  }) as unknown as Promise<Result>;
}

/**
 * What every OS error must look like to a user: the exit code, one line `clawback: …` naming the
 * path, then one `hint:` line, and never "internal error" or a stack.
 */
export function expectUserError(result: Result, exitCode: number, pathNamed: string, label = ''): string {
  const stderr = String(result.stderr);
  const where = `${label} → ${stderr}`;
  expect(stderr, where).not.toContain('internal error');
  expect(stderr, where).not.toMatch(/^\s+at /m);
  expect(result.exitCode, where).toBe(exitCode);
  const lines = stderr.split('\n').filter((line) => line !== '' && !line.startsWith('warning: '));
  expect(lines, where).toHaveLength(2);
  expect(lines[0], where).toMatch(/^clawback: /);
  expect(lines[0], where).toContain(pathNamed);
  expect(lines[1], where).toMatch(/^hint: \S/);
  return lines[0]!;
}
