import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runShell, type ShellSettings } from '../../src/engine/sandbox/shell.js';

let dir: string;
let settings: ShellSettings;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-shell-hold-'));
  settings = {
    cwd: dir,
    tmpDir: dir,
    clock: () => performance.now(),
    signalGroup: (pgid, signal) => process.kill(-pgid, signal),
  };
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a command whose process group is recorded (onStarted)', () => {
  it('runs only after onStarted has returned: what onStarted wrote is there when the command starts', async () => {
    const record = path.join(dir, 'record');
    const seen = path.join(dir, 'seen');
    const outcome = await runShell(`cat "${record}" > "${seen}"`, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, 10_000, settings, (group) => {
      fs.writeFileSync(record, String(group));
    });
    expect(outcome.exitCode).toBe(0);
    const group = fs.readFileSync(seen, 'utf8');
    expect(Number(group)).toBeGreaterThan(1);
  });

  it('runs nothing when onStarted throws (the group could not be recorded), and the error comes back', async () => {
    const ran = path.join(dir, 'ran');
    const failure = new Error('disk full while recording the group');
    await expect(
      runShell(`: > "${ran}"`, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, 10_000, settings, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(fs.existsSync(ran)).toBe(false);
  });

  it('without onStarted, runs at once with stdin closed and no extra descriptor', async () => {
    const fds = path.join(dir, 'fds');
    const outcome = await runShell(`ls /proc/$$/fd > "${fds}"`, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, 10_000, settings);
    expect(outcome.exitCode).toBe(0);
    expect(fs.readFileSync(fds, 'utf8').split('\n')).not.toContain('3');
  });
});
