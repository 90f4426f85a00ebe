import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options, type Result, type ResultPromise } from 'execa';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin', 'clawback.js');

export function tempDir(prefix = 'clawback-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs the built binary the way a user would, with CLAWBACK_HOME set and no TTY. */
export function clawback(home: string, args: string[], options: Options & { env?: Record<string, string> } = {}): ResultPromise {
  return execa('node', [BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    ...options,
    env: { ...process.env, NO_COLOR: '1', CLAWBACK_HOME: home, ...(options.env ?? {}) },
  }) as ResultPromise;
}

export function json<T = Record<string, unknown>>(result: Result): T {
  return JSON.parse(String(result.stdout)) as T;
}
