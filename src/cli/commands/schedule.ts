import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { ScheduleTarget } from '../../engine/schedule/install.js';
import type { ScheduleSpec } from '../../engine/schedule/plan.js';
import type { Act, CliContext } from '../context.js';
import { emit } from '../output.js';

interface InstallFlags {
  every: string;
  strict?: boolean;
  ping?: string;
  dryRun?: boolean;
  cron?: boolean;
}

const HELP = `
Installs a systemd user timer and service where systemd runs (a timer catches up a run missed
while the machine was off), else a line in your crontab. The command uses the absolute paths of
the node and clawback running now, so cron's short PATH does not matter, and names this home
with --home. One schedule per clawback home; installing again replaces it.

Examples:
  clawback schedule install --every 1h --strict --ping https://hc-ping.com/<uuid>
  clawback schedule install --dry-run          print both forms, change nothing
  clawback schedule show
  clawback schedule remove`;

/** systemd is the scheduler when it booted this machine (sd_booted's test) and cron is not forced. */
function targetFor(ctx: CliContext, forceCron: boolean): ScheduleTarget {
  const booted = fs.existsSync('/run/systemd/system');
  return forceCron || !booted ? { kind: 'cron' } : { kind: 'systemd', unitDir: unitDirFor(ctx) };
}

function unitDirFor(ctx: CliContext): string {
  return path.join(ctx.io.env.XDG_CONFIG_HOME || path.join(ctx.io.homedir, '.config'), 'systemd', 'user');
}

function specFor(ctx: CliContext, flags: InstallFlags, parseInterval: (raw: string) => ScheduleSpec['interval']): ScheduleSpec {
  const script = process.argv[1] ?? '';
  return {
    node: process.execPath,
    script: fs.existsSync(script) ? fs.realpathSync(script) : path.resolve(script),
    home: ctx.deps.layout.home,
    interval: parseInterval(flags.every),
    strict: flags.strict === true,
    ...(flags.ping === undefined ? {} : { ping: flags.ping }),
  };
}

export function registerSchedule(program: Command, act: Act): void {
  const schedule = program.command('schedule').description('run backup-all on a timer (systemd user timer, or cron)').addHelpText('after', HELP);

  schedule
    .command('install')
    .description('install (or replace) the schedule of this home')
    .option('--every <interval>', '5m, 10m, 15m, 20m, 30m, 1h … 12h, or daily', '1h')
    .option('--strict', 'pass --strict to backup-all (a skipped sandbox fails the run)')
    .option('--ping <url>', 'pass --ping URL to backup-all (healthchecks.io convention)')
    .option('--cron', 'use the crontab even where systemd runs')
    .option('--dry-run', 'print what would be written, in both forms; change nothing')
    .action(
      act(async (ctx, flags: InstallFlags) => {
        const present = await import('../present/schedule.js');
        const { parseInterval } = await import('../../engine/schedule/plan.js');
        const { installSchedule, planSchedule } = await import('../../engine/schedule/install.js');
        const spec = specFor(ctx, flags, parseInterval);
        const target = targetFor(ctx, flags.cron === true);
        if (flags.dryRun === true) {
          const alternative = planSchedule(spec, target.kind === 'cron' ? { kind: 'systemd', unitDir: unitDirFor(ctx) } : { kind: 'cron' });
          const result = { action: 'install' as const, dryRun: true, target, schedule: planSchedule(spec, target), alternative };
          emit(ctx, present.json(result), () => present.text(result));
          return;
        }
        const result = { action: 'install' as const, dryRun: false, target, schedule: await installSchedule(spec, target) };
        emit(ctx, present.json(result), () => present.text(result));
      }),
    );

  schedule
    .command('show')
    .description('print the installed schedule of this home')
    .option('--cron', 'look in the crontab even where systemd runs')
    .action(
      act(async (ctx, flags: { cron?: boolean }) => {
        const present = await import('../present/schedule.js');
        const { showSchedule } = await import('../../engine/schedule/install.js');
        const target = targetFor(ctx, flags.cron === true);
        const result = { action: 'show' as const, dryRun: false, target, schedule: await showSchedule(ctx.deps.layout.home, target) };
        emit(ctx, present.json(result), () => present.text(result));
      }),
    );

  schedule
    .command('remove')
    .description('disable and delete the schedule of this home')
    .option('--cron', 'remove from the crontab even where systemd runs')
    .action(
      act(async (ctx, flags: { cron?: boolean }) => {
        const present = await import('../present/schedule.js');
        const { removeSchedule } = await import('../../engine/schedule/install.js');
        const target = targetFor(ctx, flags.cron === true);
        const result = { action: 'remove' as const, dryRun: false, target, schedule: await removeSchedule(ctx.deps.layout.home, target) };
        emit(ctx, present.json(result), () => present.text(result));
      }),
    );
}
