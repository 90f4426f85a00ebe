import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteArgv } from '../../src/cli/argv.js';
import { plainPush } from '../../src/cli/commands/snapshot-push.js';
import { tempDir } from '../helpers/cli.js';
import { invoke as invokeIn, type Invocation } from '../helpers/in-process.js';
import { resticSnapshots, setUpPush, tagValue } from '../helpers/restic.js';

/**
 * A plain `<name> snapshot push ... --repo NAME` is run without commander (main.ts withoutCommander),
 * so that its held restic starts sooner; it must take exactly the args commander parses the same
 * way, and print and exit as commander's run does. The tiny OpenClaw home, a local repository.
 */
const SB = 'oc';
let base: string;
let home: string;
let repo: string;
let passwordFile: string;

/** What a run prints, with its timings (which differ from run to run) taken out. */
function untimed(text: string): string {
  return text.replace(/"durationMs": \d+/g, '"durationMs": 0').replace(/ in [\d.]+ m?s/g, ' in T');
}

async function invoke(args: string[], commander: 'always' | undefined): Promise<Invocation> {
  const run = await invokeIn(home, args, commander);
  return { ...run, stdout: untimed(run.stdout), stderr: untimed(run.stderr) };
}

async function must(args: string[]): Promise<string> {
  const run = await invokeIn(home, args, 'always');
  expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

async function snapshot(): Promise<string> {
  return (JSON.parse(await must([SB, 'snapshot', 'create', '--json'])) as { snapshot: { timestamp: string } }).snapshot.timestamp;
}

beforeAll(async () => {
  base = tempDir('clawback-push-plain-');
  home = path.join(base, 'home');
  ({ repo, passwordFile } = await setUpPush(base, must, { scale: 'tiny', password: 'push plain', sandbox: SB }));
}, 120_000);

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
}, 120_000);

describe('a plain push, answered without commander', () => {
  it('takes only the args commander would parse the same way', () => {
    const plain = (args: string[]): unknown => plainPush(rewriteArgv(args));
    expect(plain([SB, 'snapshot', 'push', '--repo', 'r'])).toEqual({ sandbox: SB, selectors: [], flags: { repo: 'r' }, globals: {} });
    expect(plain([SB, 'snapshot', 'push', 'latest', '--repo', 'r', '--json'])).toEqual({ sandbox: SB, selectors: ['latest'], flags: { repo: 'r' }, globals: { json: true } });
    expect(plain([SB, 'snapshot', 'push', '--repo', 'r', 'v1', 'v2', '-q'])).toEqual({ sandbox: SB, selectors: ['v1', 'v2'], flags: { repo: 'r' }, globals: { quiet: true } });
    expect(plain([SB, 'snapshot', 'push', '--all', '--repo', 'r', '--missing'])).toEqual({ sandbox: SB, selectors: [], flags: { repo: 'r', all: true, missing: true }, globals: {} });
    for (const args of [
      [SB, 'snapshot', 'push'],
      [SB, 'snapshot', 'push', 'latest'],
      [SB, 'snapshot', 'push', '--repo'],
      [SB, 'snapshot', 'push', '--repo', '--json'],
      [SB, 'snapshot', 'push', '--repo=r'],
      [SB, 'snapshot', 'push', '--repo', 'r', '--repo', 's'],
      [SB, 'snapshot', 'push', '--repo', 'r', '--all', '--all'],
      [SB, 'snapshot', 'push', '--repo', 'r', '--help'],
      [SB, 'snapshot', 'push', '--repo', 'r', '--home', home],
      [SB, 'snapshot', 'push', '--repo', 'r', '--', 'v1'],
      [SB, 'snapshot', 'push', '--', '--repo', 'r'],
      ['--json', SB, 'snapshot', 'push', '--repo', 'r'],
      [SB, 'snapshot', 'verify', '--repo', 'r'],
    ]) {
      expect([args, plain(args)]).toEqual([args, undefined]);
    }
  });

  it('pushes, and prints and exits as commander parsing the same args does, pushed, present or refused', async () => {
    const first = await snapshot();
    const pushed = await invoke([SB, 'snapshot', 'push', '--repo', 'r', '--json'], undefined);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ pushed: 1, bundles: [{ timestamp: first, status: 'pushed' }] });
    expect(resticSnapshots(repo, passwordFile).map((s) => tagValue(s, 'bundle'))).toEqual([first]);
    const cases = [
      [SB, 'snapshot', 'push', '--repo', 'r'],
      [SB, 'snapshot', 'push', 'latest', '--repo', 'r', '--json'],
      [SB, 'snapshot', 'push', '--repo', 'r', '--all', '--json'],
      [SB, 'snapshot', 'push', '--repo', 'r', '--all', 'latest'],
      [SB, 'snapshot', 'push', 'v9', '--repo', 'r', '--json'],
      [SB, 'snapshot', 'push', '--repo', 'nosuch'],
      ['nosuch', 'snapshot', 'push', '--repo', 'r', '--json'],
    ];
    const codes: number[] = [];
    for (const args of cases) {
      const plain = await invoke(args, undefined);
      expect([args, plain]).toEqual([args, await invoke(args, 'always')]);
      codes.push(plain.code);
    }
    expect(codes).toEqual([0, 0, 0, 2, 4, 4, 4]);
    // Nothing was pushed twice.
    expect(resticSnapshots(repo, passwordFile).map((s) => tagValue(s, 'bundle'))).toEqual([first]);
  }, 120_000);
});
