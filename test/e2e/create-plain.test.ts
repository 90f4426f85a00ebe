import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteArgv } from '../../src/cli/argv.js';
import { plainCreate } from '../../src/cli/commands/snapshot-create.js';
import { testDeps } from '../helpers/deps.js';
import { invoke } from '../helpers/in-process.js';
import { shapeOf } from '../helpers/json-shape.js';
import { lifecycleFixture, registerOpenClaw, type LifecycleFixture } from '../helpers/lifecycle.js';

const SB = 'oc';
let fx: LifecycleFixture;

interface Created {
  snapshot: { timestamp: string; files: number; bytes: number; databases: string[]; linkedFiles: number; copiedFiles: number };
}

beforeAll(() => {
  fx = lifecycleFixture('clawback-create-plain-');
  registerOpenClaw(testDeps(fx.home), SB, fx.root);
});

afterAll(() => fx.cleanup());

describe('a plain snapshot create (cron\'s), answered without commander', () => {
  it('takes only the args commander would parse the same way', () => {
    const plain = (args: string[]): unknown => plainCreate(rewriteArgv(args));
    expect(plain([SB, 'snapshot', 'create'])).toEqual({ sandbox: SB, globals: {}, flags: {} });
    expect(plain([SB, 'snapshot', 'create', '--json', '--no-secrets', '-q'])).toEqual({ sandbox: SB, globals: { json: true, quiet: true }, flags: { secrets: false } });
    for (const args of [
      [SB, 'snapshot', 'create', '--name', 'x'],
      [SB, 'snapshot', 'create', '--only', 'memory'],
      [SB, 'snapshot', 'create', '--exclude', '*.log'],
      [SB, 'snapshot', 'create', '--no-secrets', '--no-secrets'],
      [SB, 'snapshot', 'create', '--json', '--json'],
      [SB, 'snapshot', 'create', 'extra'],
      [SB, 'snapshot', 'create', '--help'],
      [SB, 'snapshot', 'create', '--home', fx.home],
      ['--json', SB, 'snapshot', 'create'],
    ]) {
      expect([args, plain(args)]).toEqual([args, undefined]);
    }
  });

  it('takes the snapshot commander would, and prints the same refusals', async () => {
    const args = [SB, 'snapshot', 'create', '--json', '--no-secrets'];
    const plain = await invoke(fx.home, args);
    const parsed = await invoke(fx.home, args, 'always');
    expect([plain.code, plain.stderr, parsed.code, parsed.stderr]).toEqual([0, '', 0, '']);
    const [a, b] = [JSON.parse(plain.stdout) as Created, JSON.parse(parsed.stdout) as Created];
    expect(shapeOf(a)).toEqual(shapeOf(b));
    expect([a.snapshot.files, a.snapshot.bytes, a.snapshot.databases]).toEqual([b.snapshot.files, b.snapshot.bytes, b.snapshot.databases]);
    expect(a.snapshot.timestamp < b.snapshot.timestamp).toBe(true);
    // --no-secrets held both ways: a snapshot with the secrets holds more.
    const full = JSON.parse((await invoke(fx.home, [SB, 'snapshot', 'create', '--json'])).stdout) as Created;
    expect(full.snapshot.files).toBeGreaterThan(a.snapshot.files);

    for (const refused of [
      ['nosuch', 'snapshot', 'create'],
      ['nosuch', 'snapshot', 'create', '--json'],
    ]) {
      const without = await invoke(fx.home, refused);
      expect([refused, without]).toEqual([refused, await invoke(fx.home, refused, 'always')]);
      expect(without.code).toBe(4);
    }
  });
});
