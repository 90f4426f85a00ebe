import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clawback, tempDir } from '../helpers/cli.js';
import { clawbackOnTty } from '../helpers/pty.js';

let base: string;
let home: string;

beforeEach(async () => {
  base = tempDir('clawback-confirm-');
  home = path.join(base, 'home');
  fs.mkdirSync(path.join(base, 'root'));
  expect((await clawback(home, ['sandbox', 'add', 'alpha', '--agent', 'openclaw', '--root', path.join(base, 'root')])).exitCode).toBe(0);
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

const registered = async (): Promise<boolean> => String((await clawback(home, ['sandbox', 'list'])).stdout).includes('alpha');
const QUESTION = 'forget sandbox alpha? its bundles stay on disk [y/N] ';

describe('a confirmation on a terminal', () => {
  it('Ctrl-C at the prompt is exit 130 and changes nothing', async () => {
    const result = await clawbackOnTty(home, ['sandbox', 'remove', 'alpha'], [{ when: QUESTION, send: '\u0003' }]);
    expect(result.exitCode, result.output).toBe(130);
    expect(result.output).toContain('clawback: interrupted');
    expect(await registered()).toBe(true);
  });

  it('Ctrl-D, an empty answer and "n" are "not confirmed" (exit 5) and change nothing', async () => {
    for (const send of ['\u0004', '\r', 'n\r']) {
      const result = await clawbackOnTty(home, ['sandbox', 'remove', 'alpha'], [{ when: QUESTION, send }]);
      expect(result.exitCode, `${JSON.stringify(send)}: ${result.output}`).toBe(5);
      expect(result.output).toContain('not confirmed');
      expect(result.output).toContain('hint: answer y, or pass --yes');
      expect(await registered()).toBe(true);
    }
  });

  it('"y" confirms', async () => {
    const result = await clawbackOnTty(home, ['sandbox', 'remove', 'alpha'], [{ when: QUESTION, send: 'y\r' }]);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('forgot alpha');
    expect(await registered()).toBe(false);
  });
});
