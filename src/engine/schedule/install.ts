import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { RefusedError } from '../../errors.js';
import { ensureDir, fsyncDir, writeFileAtomic } from '../../store/atomic.js';
import { scheduleId, type ScheduleSpec } from './plan.js';
import { cronMarker, renderCronLine, renderSystemdUnits } from './render.js';

/** Where a schedule lives: systemd user units (in `unitDir`), or the user's crontab. */
export type ScheduleTarget = { kind: 'systemd'; unitDir: string } | { kind: 'cron' };

export interface InstalledSchedule {
  target: ScheduleTarget;
  /** What was written (or would be): unit files by path, or the crontab lines. */
  files: { path: string; text: string }[];
  cronLines: string[];
}

/** What `install` would write, without writing it. */
export function planSchedule(spec: ScheduleSpec, target: ScheduleTarget): InstalledSchedule {
  if (target.kind === 'cron') return { target, files: [], cronLines: [cronMarker(spec.home), renderCronLine(spec)] };
  const units = renderSystemdUnits(spec);
  return {
    target,
    files: [units.service, units.timer].map((unit) => ({ path: path.join(target.unitDir, unit.name), text: unit.text })),
    cronLines: [],
  };
}

/** Writes the schedule (replacing this home's previous one) and enables it. */
export async function installSchedule(spec: ScheduleSpec, target: ScheduleTarget): Promise<InstalledSchedule> {
  const planned = planSchedule(spec, target);
  if (target.kind === 'cron') {
    const kept = withoutOurLines(await readCrontab(), spec.home);
    await writeCrontab([...kept, ...planned.cronLines]);
    return planned;
  }
  ensureDir(target.unitDir, 0o755);
  for (const file of planned.files) writeFileAtomic(file.path, file.text, 0o644);
  fsyncDir(target.unitDir);
  await systemctl(['daemon-reload']);
  await systemctl(['enable', '--now', `${scheduleId(spec.home)}.timer`]);
  return planned;
}

/** The schedule of this home as installed now, or undefined. */
export async function showSchedule(home: string, target: ScheduleTarget): Promise<InstalledSchedule | undefined> {
  if (target.kind === 'cron') {
    const lines = await readCrontab();
    const at = lines.indexOf(cronMarker(home));
    return at < 0 ? undefined : { target, files: [], cronLines: lines.slice(at, at + 2) };
  }
  const id = scheduleId(home);
  const files = [`${id}.service`, `${id}.timer`].flatMap((name) => {
    const file = path.join(target.unitDir, name);
    return fs.existsSync(file) ? [{ path: file, text: fs.readFileSync(file, 'utf8') }] : [];
  });
  return files.length === 0 ? undefined : { target, files, cronLines: [] };
}

/** Disables and deletes this home's schedule; returns what was removed (undefined: there was none). */
export async function removeSchedule(home: string, target: ScheduleTarget): Promise<InstalledSchedule | undefined> {
  const installed = await showSchedule(home, target);
  if (installed === undefined) return undefined;
  if (target.kind === 'cron') {
    await writeCrontab(withoutOurLines(await readCrontab(), home));
    return installed;
  }
  // A timer that is already stopped or unknown to the manager is no reason to keep its files.
  await systemctl(['disable', '--now', `${scheduleId(home)}.timer`]).catch(() => undefined);
  for (const file of installed.files) fs.rmSync(file.path, { force: true });
  fsyncDir(target.unitDir);
  await systemctl(['daemon-reload']);
  return installed;
}

function withoutOurLines(lines: string[], home: string): string[] {
  const at = lines.indexOf(cronMarker(home));
  return at < 0 ? lines : [...lines.slice(0, at), ...lines.slice(at + 2)];
}

async function readCrontab(): Promise<string[]> {
  const result = await run('crontab', ['-l']);
  // `crontab -l` exits 1 with "no crontab for <user>" when there is none yet.
  if (result.exitCode !== 0) {
    if (/no crontab/i.test(result.stderr)) return [];
    throw schedulerFailed('crontab -l', result.stderr);
  }
  const lines = result.stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

async function writeCrontab(lines: string[]): Promise<void> {
  const result = await run('crontab', ['-'], lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  if (result.exitCode !== 0) throw schedulerFailed('crontab -', result.stderr);
}

async function systemctl(args: string[]): Promise<void> {
  const result = await run('systemctl', ['--user', ...args]);
  if (result.exitCode !== 0) throw schedulerFailed(`systemctl --user ${args.join(' ')}`, result.stderr);
}

async function run(command: string, args: string[], input?: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa(command, args, { reject: false, input: input ?? '', stripFinalNewline: false });
  if (result.exitCode !== undefined) return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  if (result.code === 'ENOENT') {
    throw new RefusedError('scheduler-missing', `${command} is not installed on this machine`, {
      hint: 'install cron (or use systemd), or run `clawback schedule install --dry-run` and add the line to your scheduler by hand',
    });
  }
  throw schedulerFailed(`${command} ${args.join(' ')}`, result.shortMessage ?? '');
}

function schedulerFailed(what: string, stderr: string): RefusedError {
  const reason = stderr.trim().split('\n')[0] ?? '';
  return new RefusedError('scheduler-failed', `${what} failed${reason ? `: ${reason}` : ''}`, {
    hint: 'nothing else was changed; run `clawback schedule install --dry-run` to see what would be installed and add it by hand',
  });
}
