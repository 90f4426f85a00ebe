import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { clawback, tempDir } from '../helpers/cli.js';
import { clawbackOnTty } from '../helpers/pty.js';

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const WRAP_OFF = '\u001b[?7l';
const WRAP_ON = '\u001b[?7h';

let base: string;
let home: string;

beforeEach(async () => {
  base = tempDir('clawback-interrupt-');
  home = path.join(base, 'home');
  const root = path.join(base, 'root');
  fs.mkdirSync(path.join(root, 'workspace'), { recursive: true });
  // Enough files that the copy runs past the one second after which the bar appears.
  const content = Buffer.alloc(16 * 1024, 7);
  for (let i = 0; i < 6000; i++) fs.writeFileSync(path.join(root, 'workspace', `note-${i}.md`), content);
  expect((await clawback(home, ['sandbox', 'add', 'big', '--agent', 'openclaw', '--root', root])).exitCode).toBe(0);
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

it('Ctrl-C during a progress bar exits 130 and leaves the terminal as it was (cursor shown, line wrap on)', async () => {
  // The bar from the first moment (no one-second delay); Ctrl-C as it appears, and again once files are
  // being copied, as a user does when the first seems unheard (a loaded machine can hold the first one
  // back until the copy is done: see the closing note of issue 12).
  const ctrlC = '\u0003';
  const result = await clawbackOnTty(home, ['big', 'snapshot', 'create'], [{ when: '%', send: ctrlC }, { when: / [1-9]\d*\/\d+ files/, send: ctrlC }], {
    color: true,
    env: { CLAWBACK_PROGRESS_DELAY_MS: '0' },
  });
  expect(result.exitCode, result.output).toBe(130);
  expect(result.output).toContain('clawback: interrupted');
  // The bar was on screen and changed the terminal...
  const hidden = result.output.lastIndexOf(HIDE_CURSOR);
  const unwrapped = result.output.lastIndexOf(WRAP_OFF);
  expect(hidden).toBeGreaterThanOrEqual(0);
  expect(unwrapped).toBeGreaterThanOrEqual(0);
  // ...and each change was undone after it.
  expect(result.output.lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(hidden);
  expect(result.output.lastIndexOf(WRAP_ON)).toBeGreaterThan(unwrapped);
}, 60_000);
