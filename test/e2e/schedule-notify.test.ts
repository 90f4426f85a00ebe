import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleIds } from '../helpers/bundles.js';
import { BIN, clawback, json, tempDir } from '../helpers/cli.js';
import { writeSmallHome } from '../helpers/hooks.js';

interface Ping {
  method: string;
  url: string;
  body: string;
}

/** A healthchecks.io stand-in on 127.0.0.1 that records every request it gets. */
async function pingServer(): Promise<{ url: string; pings: Ping[]; close: () => Promise<void> }> {
  const pings: Ping[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      pings.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/ping/abc`, pings, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let base: string;
let home: string;

beforeEach(() => {
  base = tempDir('clawback-notify-');
  home = path.join(base, 'home');
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

async function register(name: string, running?: string): Promise<void> {
  writeSmallHome(path.join(base, name), name);
  const hooks = running === undefined ? [] : ['--hook-running', running];
  const added = await clawback(home, ['sandbox', 'add', name, '--agent', 'openclaw', '--root', path.join(base, name), ...hooks]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
}

describe('backup-all --ping and --on-failure', () => {
  it('pings start then success, with the JSON summary as the body', async () => {
    await register('alpha');
    const server = await pingServer();
    try {
      const run = await clawback(home, ['backup-all', '--ping', server.url]);
      expect(run.exitCode, String(run.stderr)).toBe(0);
      expect(server.pings.map((p) => `${p.method} ${p.url}`)).toEqual(['POST /ping/abc/start', 'POST /ping/abc']);
      const summary = JSON.parse(server.pings[1]!.body) as { counts: { backedUp: number } };
      expect(summary.counts.backedUp).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('pings fail and runs the --on-failure command with the result in its environment when a sandbox fails', async () => {
    await register('alpha');
    await register('bravo');
    // An absolute link outside the root makes bravo's snapshot a refusal.
    fs.symlinkSync('/etc/hostname', path.join(base, 'bravo', 'workspace', 'escape'));
    const server = await pingServer();
    const report = path.join(base, 'failure.txt');
    try {
      const onFailure = `printf '%s|%s|%s\\n' "$CLAWBACK_RESULT" "$CLAWBACK_EXIT_CODE" "$CLAWBACK_FAILED" > '${report}'; printf '%s' "$CLAWBACK_SUMMARY_JSON" >> '${report}'`;
      const run = await clawback(home, ['backup-all', '--ping', server.url, '--on-failure', onFailure]);
      expect(run.exitCode).toBe(3);
      expect(server.pings.map((p) => p.url)).toEqual(['/ping/abc/start', '/ping/abc/fail']);
      const [head, ...rest] = fs.readFileSync(report, 'utf8').split('\n');
      expect(head).toBe('failed|3|bravo');
      const summary = JSON.parse(rest.join('\n')) as { counts: { backedUp: number; failed: number } };
      expect(summary.counts).toMatchObject({ backedUp: 1, failed: 1 });
      expect(bundleIds(home, 'alpha')).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('pings fail when the run cannot start at all (nothing registered)', async () => {
    const server = await pingServer();
    try {
      const run = await clawback(home, ['backup-all', '--ping', server.url]);
      expect(run.exitCode).toBe(4);
      expect(server.pings.map((p) => p.url)).toEqual(['/ping/abc/start', '/ping/abc/fail']);
      expect(JSON.parse(server.pings[1]!.body)).toMatchObject({ error: { code: 'no-sandboxes', exitCode: 4 } });
    } finally {
      await server.close();
    }
  });

  it('a ping that cannot be delivered and a failing --on-failure command are warnings, never the run\'s result', async () => {
    await register('alpha');
    const server = await pingServer();
    const deadUrl = server.url;
    await server.close();
    const run = await clawback(home, ['backup-all', '--ping', deadUrl, '--on-failure', 'exit 9']);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(String(run.stderr)).toMatch(/warning: the start ping to http:\/\/127\.0\.0\.1:\d+\/ping\/abc\/start failed/);
    expect(String(run.stderr)).toMatch(/warning: the success ping to .* failed/);
    expect(bundleIds(home, 'alpha')).toHaveLength(1);
  });

  it('refuses a --ping that is not an http(s) URL before doing anything', async () => {
    await register('alpha');
    const run = await clawback(home, ['backup-all', '--ping', 'ftp://example.com/x']);
    expect(run.exitCode).toBe(2);
    expect(String(run.stderr)).toContain('is not an http or https URL');
    expect(bundleIds(home, 'alpha')).toHaveLength(0);
  });
});

interface ScheduleDoc {
  scheduler: 'systemd' | 'cron' | null;
  files: { path: string; text: string }[];
  cronLines: string[];
  alternative?: ScheduleDoc;
}

describe('schedule install --dry-run', () => {
  it('prints a crontab line whose command runs backup-all of this home with an empty environment', async () => {
    await register('alpha');
    const dry = await clawback(home, ['--json', 'schedule', 'install', '--dry-run', '--cron', '--every', '15m', '--strict'], { env: { XDG_CONFIG_HOME: path.join(base, 'cfg') } });
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const doc = json<ScheduleDoc>(dry);
    expect(doc.scheduler).toBe('cron');
    expect(doc.cronLines[0]).toMatch(/^# clawback-backup-[0-9a-f]{8} \(clawback schedule for /);
    const line = doc.cronLines[1]!;
    const fields = line.split(' ');
    expect(fields.slice(0, 5).join(' ')).toBe('*/15 * * * *');
    expect(fields[5]).toBe(process.execPath);
    // node starts as the launcher starts it: a small young generation.
    expect(fields[6]).toBe('--max-semi-space-size=4');
    expect(fields[7]).toBe(fs.realpathSync(BIN));
    // What cron would run: its own short PATH, no CLAWBACK_HOME.
    const ran = await execa('sh', ['-c', fields.slice(5).join(' ')], { env: { PATH: '/usr/bin:/bin' }, extendEnv: false, reject: false });
    expect(ran.exitCode, String(ran.stderr)).toBe(0);
    expect(bundleIds(home, 'alpha')).toHaveLength(1);
    expect(fs.existsSync(path.join(base, 'cfg'))).toBe(false);
  });

  it.skipIf(!fs.existsSync('/usr/bin/systemd-analyze') && !fs.existsSync('/bin/systemd-analyze'))('prints a systemd service and timer that systemd-analyze verify accepts', async () => {
    const cfg = path.join(base, 'cfg');
    const dry = await clawback(home, ['--json', 'schedule', 'install', '--dry-run', '--every', 'daily', '--ping', 'https://hc-ping.com/x%20y'], { env: { XDG_CONFIG_HOME: cfg } });
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const doc = json<ScheduleDoc>(dry);
    const systemd = doc.scheduler === 'systemd' ? doc : doc.alternative!;
    expect(systemd.files.map((f) => path.relative(cfg, f.path))).toEqual([
      expect.stringMatching(/^systemd\/user\/clawback-backup-[0-9a-f]{8}\.service$/),
      expect.stringMatching(/^systemd\/user\/clawback-backup-[0-9a-f]{8}\.timer$/),
    ]);
    const dir = path.join(base, 'units');
    fs.mkdirSync(dir);
    const files = systemd.files.map((f) => path.join(dir, path.basename(f.path)));
    systemd.files.forEach((f, i) => fs.writeFileSync(files[i]!, f.text));
    const verify = await execa('systemd-analyze', ['verify', ...files], { reject: false });
    expect(verify.exitCode, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(String(verify.stderr)).toBe('');
    expect(fs.readFileSync(files[0]!, 'utf8')).toContain(`ExecStart=${process.execPath} --max-semi-space-size=4 ${fs.realpathSync(BIN)} --home ${home} --quiet --wait 600 backup-all --ping "https://hc-ping.com/x%%20y"`);
    expect(fs.readFileSync(files[1]!, 'utf8')).toContain('OnCalendar=*-*-* 03:17:00');
    expect(fs.existsSync(cfg)).toBe(false);
  });

  it('refuses an interval it cannot schedule', async () => {
    const run = await clawback(home, ['schedule', 'install', '--dry-run', '--every', '7m']);
    expect(run.exitCode).toBe(2);
    expect(String(run.stderr)).toContain('use 5m, 10m, 15m');
  });
});

const hasCrontab = ['/usr/bin/crontab', '/bin/crontab'].some((file) => fs.existsSync(file));

describe('schedule install without a scheduler', () => {
  // Only where crontab is absent: elsewhere this would edit the real crontab of the user running the tests.
  it.skipIf(hasCrontab)('says crontab is missing and how to install the line by hand, exit 5', async () => {
    const run = await clawback(home, ['schedule', 'install', '--cron']);
    expect(run.exitCode).toBe(5);
    expect(String(run.stderr)).toContain('crontab is not installed on this machine');
    expect(String(run.stderr)).toContain('schedule install --dry-run');
  });
});

describe('NODE_EXTRA_CA_CERTS, through the launcher (bin/clawback.js run as a program)', () => {
  it('is left to node only with --ping (the one TLS connection clawback makes), and every child gets it as it was', async () => {
    await register('alpha');
    await register('bravo');
    fs.symlinkSync('/etc/hostname', path.join(base, 'bravo', 'workspace', 'escape'));
    const report = path.join(base, 'ca.txt');
    // A file node cannot load: node warns at start whenever it reads the variable.
    const ca = path.join(base, 'no-such-ca.pem');
    const env = { ...process.env, NO_COLOR: '1', CLAWBACK_HOME: home, NODE_EXTRA_CA_CERTS: ca };
    const held = await execa(BIN, ['backup-all', '--on-failure', `printf '%s|%s' "$NODE_EXTRA_CA_CERTS" "\${CLAWBACK_NODE_EXTRA_CA_CERTS-unset}" > '${report}'`], { reject: false, env, stdin: 'ignore' });
    expect(held.exitCode, String(held.stderr)).toBe(3);
    expect(String(held.stderr)).not.toContain('extra certs');
    expect(fs.readFileSync(report, 'utf8')).toBe(`${ca}|unset`);

    const server = await pingServer();
    try {
      const pinged = await execa(BIN, ['backup-all', '--ping', server.url], { reject: false, env, stdin: 'ignore' });
      expect(pinged.exitCode).toBe(3);
      expect(String(pinged.stderr)).toContain(`Ignoring extra certs from \`${ca}\``);
      expect(server.pings.map((p) => p.url)).toEqual(['/ping/abc/start', '/ping/abc/fail']);
    } finally {
      await server.close();
    }
  });
});
