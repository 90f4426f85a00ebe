import { createHash } from 'node:crypto';
import { UsageError } from '../../errors.js';

/** How often the scheduled `backup-all` runs. */
export interface Interval {
  /** As the user wrote it, normalised: `15m`, `1h`, `6h`, `daily`. */
  label: string;
  /** The five cron fields. */
  cron: string;
  /** systemd OnCalendar= value. */
  onCalendar: string;
}

/**
 * What node is started with, as bin/clawback.js starts it: a 4 MiB young generation, which halves
 * the memory of a large snapshot at the same speed (an hourly run on a small host is where it counts).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

export interface ScheduleSpec {
  /** Absolute path of the node binary running clawback now (cron's PATH may not have it). */
  node: string;
  /** Absolute path of clawback's entry script. */
  script: string;
  /** The clawback home the schedule backs up. */
  home: string;
  interval: Interval;
  strict: boolean;
  ping?: string;
}

/** Every schedule names its home, so two homes on one account get two schedules. */
export function scheduleId(home: string): string {
  return `clawback-backup-${createHash('sha256').update(home).digest('hex').slice(0, 8)}`;
}

export function parseInterval(raw: string): Interval {
  const value = raw.trim().toLowerCase();
  if (value === 'daily' || value === '1d' || value === '24h') return { label: 'daily', cron: '17 3 * * *', onCalendar: '*-*-* 03:17:00' };
  if (value === 'hourly') return parseInterval('1h');
  const match = /^(\d+)(m|h)$/.exec(value);
  const amount = match ? Number(match[1]) : NaN;
  if (match?.[2] === 'm' && [5, 10, 15, 20, 30].includes(amount)) {
    return { label: `${amount}m`, cron: `*/${amount} * * * *`, onCalendar: `*:0/${amount}` };
  }
  if (match?.[2] === 'h' && [1, 2, 3, 4, 6, 8, 12].includes(amount)) {
    return amount === 1
      ? { label: '1h', cron: '7 * * * *', onCalendar: '*-*-* *:07:00' }
      : { label: `${amount}h`, cron: `7 */${amount} * * *`, onCalendar: `*-*-* 0/${amount}:07:00` };
  }
  throw new UsageError(`--every ${JSON.stringify(raw)} is not an interval clawback can schedule`, {
    hint: 'use 5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h or daily',
  });
}

/** The arguments after node and the script: quiet for cron mail, waiting out a concurrent run. */
export function backupArgs(spec: ScheduleSpec): string[] {
  return ['--home', spec.home, '--quiet', '--wait', '600', 'backup-all', ...(spec.strict ? ['--strict'] : []), ...(spec.ping === undefined ? [] : ['--ping', spec.ping])];
}
