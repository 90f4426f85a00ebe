import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HELP_CACHE_MODULE } from '../../src/cli/fast-path.js';
import { helpCacheSource, renderLive } from '../../src/cli/help-cache-build.js';
import { clawback, REPO, tempDir } from '../helpers/cli.js';
import { clawbackOnTty } from '../helpers/pty.js';

const BUILT_CLI = path.join(REPO, 'dist', 'src', 'cli');

describe('root help from the build-time cache', () => {
  let live: string;
  let home: string;
  beforeAll(async () => {
    live = (await renderLive(['--help'])).stdout;
    home = tempDir();
  });

  it('the cache `npm run build` wrote is byte for byte what the live program renders', async () => {
    const cache = path.join(BUILT_CLI, HELP_CACHE_MODULE);
    expect(fs.existsSync(cache), `${cache} is missing: run \`npm run build\` (tsc alone does not write it)`).toBe(true);
    const { ROOT_HELP } = (await import(pathToFileURL(cache).href)) as { ROOT_HELP: string };
    expect(live).toMatch(/^Usage: clawback \[options\] \[command\]\n/);
    expect(ROOT_HELP).toBe(live);
  });

  it('--help, -h and help print it on stdout, a bare clawback on stderr, all exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const result = await clawback(home, args);
      expect([args, result.exitCode, String(result.stdout) + '\n', String(result.stderr)]).toEqual([args, 0, live, '']);
    }
    const bare = await clawback(home, []);
    expect(bare.exitCode).toBe(0);
    expect(String(bare.stderr) + '\n').toBe(live);
    expect(String(bare.stdout)).toBe('');
  });

  it('a terminal of another width gets help wrapped to it by the live program, not the 80-column cache', async () => {
    const wide = (await renderLive(['--help'], 120)).stdout;
    expect(wide).not.toBe(live);
    const result = await clawbackOnTty(home, ['--help'], [], { columns: 120 });
    expect(result.exitCode).toBe(0);
    expect(result.output.replace(/\r\n/g, '\n')).toBe(wide);
  });

  it('a cache older than the build beside it (tsc run again without the cache step) is ignored: the live program renders', () => {
    // A copy of the launcher whose dist/src/cli holds the cache under test, the built fast path, and the real main.js.
    const dir = tempDir();
    const cli = path.join(dir, 'dist', 'src', 'cli');
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(cli, { recursive: true });
    for (const name of ['clawback.js', 'package.json']) fs.copyFileSync(path.join(REPO, 'bin', name), path.join(dir, 'bin', name));
    fs.copyFileSync(path.join(BUILT_CLI, 'fast-path.js'), path.join(cli, 'fast-path.js'));
    fs.symlinkSync(path.join(BUILT_CLI, 'main.js'), path.join(cli, 'main.js'));
    fs.writeFileSync(path.join(cli, HELP_CACHE_MODULE), helpCacheSource('cached help\n'));
    const answer = (): string => execFileSync(process.execPath, [path.join(dir, 'bin', 'clawback.js'), '--help'], { encoding: 'utf8', env: { ...process.env, CLAWBACK_HOME: home } });
    const built = fs.statSync(path.join(cli, 'fast-path.js')).mtime;
    fs.utimesSync(path.join(cli, HELP_CACHE_MODULE), built, new Date(built.getTime() + 1000));
    expect(answer()).toBe('cached help\n');
    fs.utimesSync(path.join(cli, HELP_CACHE_MODULE), built, new Date(built.getTime() - 1000));
    expect(answer()).toBe(live);
  });

  it('-v and --version print the version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['-v', '--version']) expect(String((await clawback(home, [flag])).stdout)).toBe(version);
  });
});
