import type { InstalledSchedule, ScheduleTarget } from '../../engine/schedule/install.js';
import type { JsonDocument } from './document.js';

export interface ScheduleDocument extends JsonDocument {
  action: 'install' | 'show' | 'remove';
  dryRun: boolean;
  /** Where the schedule lives: `systemd` (user units) or `cron`; null when none is installed. */
  scheduler: 'systemd' | 'cron' | null;
  files: { path: string; text: string }[];
  cronLines: string[];
  /** --dry-run: the other scheduler's form. */
  alternative?: { scheduler: 'systemd' | 'cron'; files: { path: string; text: string }[]; cronLines: string[] };
}

export interface ScheduleResult {
  action: ScheduleDocument['action'];
  dryRun: boolean;
  target: ScheduleTarget;
  schedule: InstalledSchedule | undefined;
  /** For --dry-run: the other scheduler's form, so a user can install it by hand anywhere. */
  alternative?: InstalledSchedule;
}

export function json(result: ScheduleResult): ScheduleDocument {
  const shown = result.schedule;
  return {
    schemaVersion: 1,
    action: result.action,
    dryRun: result.dryRun,
    scheduler: shown === undefined ? null : shown.target.kind,
    files: shown?.files ?? [],
    cronLines: shown?.cronLines ?? [],
    ...(result.alternative === undefined
      ? {}
      : { alternative: { scheduler: result.alternative.target.kind, files: result.alternative.files, cronLines: result.alternative.cronLines } }),
  };
}

export function text(result: ScheduleResult): string[] {
  const { schedule, action, dryRun } = result;
  if (schedule === undefined) return [`no clawback schedule for this home in ${where(result.target)}`];
  const verb = dryRun ? 'would write' : action === 'install' ? 'installed' : action === 'remove' ? 'removed' : 'installed';
  const lines = [`${verb} (${where(schedule.target)}):`, ...body(schedule)];
  if (action === 'install' && !dryRun) lines.push(schedule.target.kind === 'systemd' ? 'see it with: systemctl --user list-timers' : 'see it with: crontab -l');
  if (result.alternative !== undefined) lines.push('', `or, with ${where(result.alternative.target)}:`, ...body(result.alternative));
  return lines;
}

function body(schedule: InstalledSchedule): string[] {
  if (schedule.target.kind === 'cron') return schedule.cronLines.map((line) => `  ${line}`);
  return schedule.files.flatMap((file) => [`--- ${file.path}`, ...file.text.replace(/\n$/, '').split('\n')]);
}

function where(target: ScheduleTarget): string {
  return target.kind === 'systemd' ? `systemd user units in ${target.unitDir}` : 'the crontab';
}
