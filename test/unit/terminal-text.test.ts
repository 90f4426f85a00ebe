import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/cli/present/table.js';
import { compactTimestamps, printable, shortPath, truncateMiddle, wrapLine } from '../../src/cli/present/terminal-text.js';

const widest = (lines: string[]): number => Math.max(...lines.map((l) => [...l].length));

describe('printable', () => {
  it('escapes a newline and other control characters, and shows bytes that are not UTF-8 as \\xNN', () => {
    expect(printable('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(printable('bell\u0007 esc\u001b[31m del\u007f c1\u0085')).toBe('bell\\x07 esc\\x1b[31m del\\x7f c1\\u0085');
    expect(printable('caf\udcc3.md')).toBe('caf\\xc3.md');
    expect(printable('plain/ünïcode 日本.md')).toBe('plain/ünïcode 日本.md');
  });
});

describe('renderTable', () => {
  const head = ['Name', 'Agent', 'Root', 'Root exists'];
  const rows = [
    ['alpha', 'openclaw', '/srv/agents/a-very-long-directory-name/and-below-it/another-long-one/openclaw-home', 'yes'],
    ['beta', 'hermes', '/home/me/.hermes', 'no'],
  ];

  it('is compact: a header and one line per row, columns two spaces apart, no borders or trailing spaces', () => {
    const lines = renderTable(head, [['a', 'b', 'c', 'd']], { width: undefined });
    expect(lines).toEqual(['Name  Agent  Root  Root exists', 'a     b      c     d']);
  });

  it('fits the width by shortening the shrinkable column in the middle; --wide (no width) keeps it whole', () => {
    const fitted = renderTable(head, rows, { width: 80 }, { shrink: { 2: 'middle' } });
    expect(fitted).toHaveLength(3);
    expect(widest(fitted)).toBe(80);
    expect(fitted[1]).toMatch(/^alpha +openclaw +\/srv\/agents\/.*….*\/openclaw-home +yes$/);
    expect(fitted[2]).toMatch(/^beta +hermes +\/home\/me\/\.hermes +no$/);
    expect(fitted[2]!.indexOf('no')).toBe(fitted[1]!.indexOf('yes'));
    const wide = renderTable(head, rows, { width: undefined }, { shrink: { 2: 'middle' } });
    expect(wide[1]).toContain(rows[0]![2]);
  });

  it('never exceeds the width, even when the fixed columns alone are too wide', () => {
    const many = Array.from({ length: 12 }, (_, i) => `column-${i}`);
    const lines = renderTable(many, [many.map((c) => `${c}-value-that-is-long`)], { width: 60 }, { shrink: { 0: 'middle' } });
    expect(widest(lines)).toBeLessThanOrEqual(60);
  });

  it('keeps a row on one line whatever its cells hold', () => {
    const lines = renderTable(['Path'], [['workspace/line\nbreak.md']], { width: 80 });
    expect(lines).toEqual(['Path', 'workspace/line\\nbreak.md']);
  });
});

describe('paths and long lines', () => {
  it('truncates in the middle, keeping both ends', () => {
    expect(truncateMiddle('workspace/memory/2026-05-01.md', 15)).toBe('workspa…5-01.md');
    expect(truncateMiddle('short', 15)).toBe('short');
  });

  it('shows a path under the home as ~/… in the default form only', () => {
    expect(shortPath('/home/me/.openclaw', { width: 80, homedir: '/home/me' })).toBe('~/.openclaw');
    expect(shortPath('/home/meow/.openclaw', { width: 80, homedir: '/home/me' })).toBe('/home/meow/.openclaw');
    expect(shortPath('/home/me/.openclaw', { width: undefined, homedir: '/home/me' })).toBe('/home/me/.openclaw');
  });

  it('wraps at spaces with a hanging indent, cuts a word longer than a line, and leaves a line alone under --wide', () => {
    const line = '  SQLite through the backup API: agents/main/agent/openclaw-agent.sqlite, agents/ops/agent/openclaw-agent.sqlite';
    const wrapped = wrapLine(line, { width: 50 });
    expect(widest(wrapped)).toBeLessThanOrEqual(50);
    expect(wrapped[0]).toBe('  SQLite through the backup API:');
    expect(wrapped.slice(1).every((l) => l.startsWith('    '))).toBe(true);
    expect(wrapped.map((l) => l.trim()).join(' ')).toBe(line.trim());
    const long = 'x'.repeat(130);
    expect(widest(wrapLine(long, { width: 40 }))).toBeLessThanOrEqual(40);
    expect(wrapLine(line, { width: undefined })).toEqual([line]);
  });
});

describe('compactTimestamps', () => {
  it('shows bundle timestamps to the second, unless --wide or two would read the same', () => {
    const stamps = ['2026-05-01T09-30-00-000Z', '2026-05-01T10-30-00-500Z'];
    expect(compactTimestamps(stamps, { width: 80 })).toEqual(['2026-05-01T09-30-00', '2026-05-01T10-30-00']);
    expect(compactTimestamps(stamps, { width: undefined })).toEqual(stamps);
    const sameSecond = ['2026-05-01T09-30-00-000Z', '2026-05-01T09-30-00-001Z'];
    expect(compactTimestamps(sameSecond, { width: 80 })).toEqual(sameSecond);
  });
});
