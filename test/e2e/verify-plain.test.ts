import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainVerify } from '../../src/cli/commands/snapshot-verify.js';
import { rewriteArgv } from '../../src/cli/argv.js';
import { flipByte, payloadPath, sandboxDir } from '../helpers/bundles.js';
import { testDeps } from '../helpers/deps.js';
import { invoke as invokeIn, type Invocation } from '../helpers/in-process.js';
import { lifecycleFixture, registerOpenClaw, snapshot, type LifecycleFixture } from '../helpers/lifecycle.js';

const SB = 'oc';
let fx: LifecycleFixture;
let ids: string[];

/** What a run prints, with its timings (which differ from run to run) taken out. */
function untimed(text: string): string {
  return text
    .replace(/"durationMs": \d+/g, '"durationMs": 0')
    .replace(/ in [\d.]+ m?s(, [\d.]+ [KMGT]?i?B\/s)?/g, ' in T')
    .replace(/\([\d.]+ m?s\)/g, '(T)');
}

/** One invocation in this process, parsed by commander or not, with its timings taken out. */
async function invoke(args: string[], commander: 'always' | undefined): Promise<Invocation> {
  const run = await invokeIn(fx.home, args, commander);
  return { ...run, stdout: untimed(run.stdout), stderr: untimed(run.stderr) };
}

beforeAll(async () => {
  fx = lifecycleFixture('clawback-verify-plain-');
  const deps = testDeps(fx.home);
  registerOpenClaw(deps, SB, fx.root);
  ids = [await snapshot(deps, SB), await snapshot(deps, SB)];
});

afterAll(() => fx.cleanup());

describe('a plain verify, answered without commander', () => {
  it('takes only the args commander would parse the same way', () => {
    const plain = (args: string[]): unknown => plainVerify(rewriteArgv(args));
    expect(plain([SB, 'snapshot', 'verify'])).toEqual({ sandbox: SB, selector: undefined, all: false, globals: {} });
    expect(plain([SB, 'snapshot', 'verify', '--json', 'v1', '-q'])).toEqual({ sandbox: SB, selector: 'v1', all: false, globals: { json: true, quiet: true } });
    expect(plain([SB, 'snapshot', 'verify', '--all', '--wide', '--verbose'])).toEqual({ sandbox: SB, selector: undefined, all: true, globals: { wide: true, verbose: true } });
    for (const args of [
      [SB, 'snapshot', 'verify', 'v1', 'v2'],
      [SB, 'snapshot', 'verify', '--json', '--json'],
      [SB, 'snapshot', 'verify', '--all', '--all'],
      [SB, 'snapshot', 'verify', '--help'],
      [SB, 'snapshot', 'verify', '--home', fx.home],
      [SB, 'snapshot', 'verify', '--', 'v1'],
      ['--json', SB, 'snapshot', 'verify'],
      [SB, 'snapshot', 'list'],
    ]) {
      expect([args, plain(args)]).toEqual([args, undefined]);
    }
  });

  it('prints what commander parsing the same args prints, ok, damaged or refused', async () => {
    const cases = [
      [SB, 'snapshot', 'verify'],
      [SB, 'snapshot', 'verify', '--json'],
      [SB, 'snapshot', 'verify', 'v1', '--wide'],
      [SB, 'snapshot', 'verify', '--all', '--json', '--verbose'],
      [SB, 'snapshot', 'verify', '-q'],
      [SB, 'snapshot', 'verify', '--all', 'latest'],
      [SB, 'snapshot', 'verify', 'v9', '--json'],
      ['nosuch', 'snapshot', 'verify'],
      ['nosuch', 'snapshot', 'verify', '--quiet', '--json'],
    ];
    const run = async (): Promise<Array<Awaited<ReturnType<typeof invoke>>>> => {
      const runs = [];
      for (const args of cases) {
        const plain = await invoke(args, undefined);
        expect([args, plain]).toEqual([args, await invoke(args, 'always')]);
        runs.push(plain);
      }
      return runs;
    };
    const ok = await run();
    expect(ok.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 2, 4, 4, 4]);

    const file = fs.readdirSync(path.join(sandboxDir(fx.home, SB), ids[0]!, 'payload')).find((name) => name.endsWith('.json'))!;
    flipByte(payloadPath(fx.home, SB, ids[0]!, file));
    const damaged = await run();
    expect(damaged.map((r) => r.code)).toEqual([6, 6, 6, 6, 6, 2, 4, 4, 4]);
    expect(damaged[1]!.stdout).toContain('content differs');
  });
});
