import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';

/**
 * backup-all with a container sandbox: the `running` probe goes through the transport (`docker
 * inspect`), `--start-stopped` starts a stopped container for its snapshot and stops it again, and
 * hooks see CLAWBACK_VIA. The docker here is a fake on PATH that keeps its state in a file and runs
 * `exec -i C sh -c SCRIPT` on this machine: the argv clawback builds is what it checks.
 */
describe('backup-all through docker: (a fake docker on PATH)', { timeout: 120_000 }, () => {
  let home: string;
  let bin: string;
  let state: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    home = tempDir();
    bin = tempDir();
    state = path.join(bin, 'state');
    const root = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(tempDir(), '.openclaw') }).root;
    fs.writeFileSync(state, 'false');
    fs.writeFileSync(
      path.join(bin, 'docker'),
      [
        '#!/bin/sh',
        `echo "$1 $2" >> ${bin}/calls`,
        'case "$1" in',
        `  inspect) cat ${state}; echo;;`,
        `  start) echo true > ${state};;`,
        `  stop) echo false > ${state};;`,
        `  exec) [ "$2" = -i ] && [ "$3" = agent ] && [ "$4" = sh ] && [ "$5" = -c ] || { echo "bad argv: $*" >&2; exit 2; }`,
        `        grep -q true ${state} || { echo "Error response from daemon: container agent is not running" >&2; exit 1; }`,
        '        exec sh -c "$6";;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    env = { PATH: `${bin}:${process.env.PATH}` };
    const added = await clawback(home, ['sandbox', 'add', 'box', '--agent', 'openclaw', '--root', root, '--via', 'docker:agent'], { env });
    expect(added.exitCode, String(added.stderr)).toBe(0);
  });

  it('skips the stopped container, and says exit 8 "not running" when asked to snapshot it directly', async () => {
    const run = await clawback(home, ['backup-all', '--json'], { env });
    expect(json<{ rows: Array<{ name: string; status: string }> }>(run).rows).toEqual([expect.objectContaining({ name: 'box', status: 'skipped' })]);
    const direct = await clawback(home, ['box', 'snapshot', 'create'], { env });
    expect(direct.exitCode).toBe(8);
    expect(String(direct.stderr)).toMatch(/^clawback: sandbox box via docker:agent: container not running \(Error response from daemon: container agent is not running\)/);
    expect(String(direct.stderr)).toContain('docker start agent');
  });

  it('--start-stopped starts it for the snapshot and stops it again', async () => {
    fs.rmSync(path.join(bin, 'calls'), { force: true });
    const run = await clawback(home, ['backup-all', '--start-stopped', '--json'], { env });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(json<{ rows: Array<{ status: string }> }>(run).rows[0]!.status).toBe('ok');
    const calls = fs.readFileSync(path.join(bin, 'calls'), 'utf8').trim().split('\n');
    expect(calls[0]).toBe('inspect --format');
    expect(calls[1]).toBe('start agent');
    expect(calls.slice(2, -1).every((c) => c === 'exec -i')).toBe(true);
    expect(calls[calls.length - 1]).toBe('stop agent');
    expect(fs.readFileSync(state, 'utf8').trim()).toBe('false');
  });

  it('hooks run on this host with CLAWBACK_VIA in their environment', async () => {
    const seen = path.join(bin, 'seen');
    await clawback(home, ['sandbox', 'set', 'box', '--hook-running', `printf %s "$CLAWBACK_VIA" > ${seen}; exit 1`], { env });
    const run = await clawback(home, ['backup-all', '--json'], { env });
    expect(json<{ rows: Array<{ status: string }> }>(run).rows[0]!.status).toBe('skipped');
    expect(fs.readFileSync(seen, 'utf8')).toBe('docker:agent');
  });
});
