import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, clawback, tempDir } from '../helpers/cli.js';
import { writeSmallHome } from '../helpers/hooks.js';

let base: string;
let home: string;

beforeAll(async () => {
  base = tempDir('clawback-completion-');
  home = path.join(base, 'home');
  for (const name of ['alpha', 'alpine']) {
    writeSmallHome(path.join(base, name), name);
    expect((await clawback(home, ['sandbox', 'add', name, '--agent', 'openclaw', '--root', path.join(base, name)])).exitCode).toBe(0);
  }
  expect((await clawback(home, ['alpha', 'snapshot', 'create', '--name', 'before-upgrade'])).exitCode).toBe(0);
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/** Sources the printed bash script in a fresh bash and asks it to complete `words` (the last under the cursor). */
async function bashComplete(words: string[]): Promise<string[]> {
  const script = String((await clawback(home, ['completion', 'bash'])).stdout);
  const file = path.join(base, 'clawback.bash');
  fs.writeFileSync(file, script);
  const quoted = ['clawback', ...words].map((w) => `'${w}'`).join(' ');
  const run = await execa('bash', ['--norc', '--noprofile', '-c', `set -e; source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length}; _clawback_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], {
    env: { ...process.env, CLAWBACK_HOME: home },
    reject: false,
  });
  expect(run.exitCode, String(run.stderr)).toBe(0);
  expect(String(run.stderr)).toBe('');
  return String(run.stdout).split('\n').filter((line) => line !== '');
}

describe('completion', () => {
  it('bash sources the script without error and completes a sandbox name', async () => {
    expect(await bashComplete(['alp'])).toEqual(['alpha', 'alpine']);
    expect(await bashComplete(['alph'])).toEqual(['alpha']);
  });

  it('completes commands, snapshot verbs, options and selectors', async () => {
    expect(await bashComplete(['sch'])).toEqual(['schedule']);
    expect(await bashComplete(['alpha', 'snapshot', 're'])).toEqual(['restore']);
    expect(await bashComplete(['alpha', 'snapshot', 'restore', ''])).toEqual(expect.arrayContaining(['latest', 'v1', 'before-upgrade']));
    expect(await bashComplete(['alpha', 'snapshot', 'restore', '--dr'])).toEqual(['--dry-run']);
    expect(await bashComplete(['sandbox', 'show', 'alpi'])).toEqual(['alpine']);
  });

  it('zsh and fish scripts name this clawback; an unknown shell is a usage error', async () => {
    for (const shell of ['zsh', 'fish']) {
      const out = await clawback(home, ['completion', shell]);
      expect(out.exitCode).toBe(0);
      expect(String(out.stdout)).toContain(fs.realpathSync(BIN));
      expect(String(out.stdout)).toContain('__complete --');
    }
    const bad = await clawback(home, ['completion', 'tcsh']);
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toContain('one of bash, zsh, fish');
  });
});
