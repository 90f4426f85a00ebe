import { backupArgs, NODE_FLAGS, scheduleId, type ScheduleSpec } from './plan.js';

export interface SystemdUnits {
  service: { name: string; text: string };
  timer: { name: string; text: string };
}

/** A oneshot service running backup-all at low priority, and a persistent timer (a missed run happens at boot). */
export function renderSystemdUnits(spec: ScheduleSpec): SystemdUnits {
  const id = scheduleId(spec.home);
  const exec = [spec.node, ...NODE_FLAGS, spec.script, ...backupArgs(spec)].map(systemdQuote).join(' ');
  const service = [
    '[Unit]',
    `Description=clawback backup-all of ${systemdEscapeText(spec.home)}`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${exec}`,
    'Nice=10',
    'IOSchedulingClass=idle',
    '',
  ].join('\n');
  const timer = [
    '[Unit]',
    `Description=clawback backup-all of ${systemdEscapeText(spec.home)}, every ${spec.interval.label}`,
    '',
    '[Timer]',
    `OnCalendar=${spec.interval.onCalendar}`,
    'Persistent=true',
    'RandomizedDelaySec=60',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { service: { name: `${id}.service`, text: service }, timer: { name: `${id}.timer`, text: timer } };
}

/** The marker that finds our line again in a crontab: it names the home. */
export function cronMarker(home: string): string {
  return `# ${scheduleId(home)} (clawback schedule for ${home.replace(/\n/g, ' ')})`;
}

export function renderCronLine(spec: ScheduleSpec): string {
  const command = [spec.node, ...NODE_FLAGS, spec.script, ...backupArgs(spec)].map(shellQuote).join(' ');
  // cron turns an unescaped % into a newline.
  return `${spec.interval.cron} ${command.replace(/%/g, '\\%')}`;
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** systemd's own quoting: double quotes, with \, " escaped, and % and $ doubled so they stay literal. */
function systemdQuote(word: string): string {
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(word) ? escaped : `"${escaped}"`;
}

function systemdEscapeText(text: string): string {
  return text.replace(/%/g, '%%').replace(/\n/g, ' ');
}
