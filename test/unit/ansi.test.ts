import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { colors } from '../../src/cli/ansi.js';

const SAMPLES = [
  '',
  'warning: disk almost full',
  '\n$ clawback sandbox add my-assistant',
  'two\nlines\r\nand a CRLF\n',
  'already \u001b[33myellow\u001b[39m inside',
  'already \u001b[1mbold\u001b[22m inside\nwith a break',
  '\u001b[39m\u001b[22m',
];

describe('the local ANSI styles', () => {
  it('print what chalk printed at the 16-colour level, byte for byte', () => {
    const chalk = new Chalk({ level: 1 });
    for (const text of SAMPLES) {
      expect(colors(true).yellow(text)).toBe(chalk.yellow(text));
      expect(colors(true).bold(text)).toBe(chalk.bold(text));
    }
  });

  it('print the text unchanged when colour is off, as chalk at level 0', () => {
    const chalk = new Chalk({ level: 0 });
    for (const text of SAMPLES) {
      expect(colors(false).yellow(text)).toBe(chalk.yellow(text));
      expect(colors(false).bold(text)).toBe(text);
    }
  });
});
