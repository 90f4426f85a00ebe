import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { clawbackOnTty } from '../helpers/pty.js';

/**
 * Terminal manners (README "Terminal output"): every table fits 80 columns piped and on a terminal,
 * `--wide` shows whole paths, a newline in a name never breaks a row, `--verbose` lists files, and
 * the progress bar shows on a terminal under NO_COLOR and gives the terminal back as it was.
 */

const SB = 'oc';
const LABEL = 'before-the-upgrade-to-the-next-major-release-of-the-agent';
let base: string;
let home: string;
let root: string;

const ESC = '\u001b';
/** What the terminal shows as text: escape sequences out, carriage returns as line ends. */
const screenLines = (output: string): string[] =>
  output
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b(\[[0-9;?]*[A-Za-z]|[78])/g, '')
    .split(/\r?\n|\r/);
const widest = (lines: string[]): number => Math.max(0, ...lines.map((l) => [...l].length));
const stdoutLines = (run: { stdout: unknown }): string[] => String(run.stdout).replace(/\n$/, '').split('\n');

async function ok(args: string[]): Promise<Awaited<ReturnType<typeof clawback>>> {
  const run = await clawback(home, args);
  expect(run.exitCode, `${args.join(' ')}: ${String(run.stderr)}`).toBe(0);
  return run;
}

/** Every table the issue names, in its default form. */
const TABLES: string[][] = [
  ['sandbox', 'list'],
  [SB, 'snapshot', 'list'],
  [SB, 'snapshot', 'restore', LABEL, '--dry-run', '--yes'],
  [SB, 'snapshot', 'prune', '--keep-last', '1', '--dry-run'],
  ['status'],
  [SB, 'snapshot', 'stats'],
  [SB, 'snapshot', 'stats', 'v1'],
  [SB, 'snapshot', 'diff', 'v1'],
];

beforeAll(async () => {
  base = tempDir('clawback-terminal-');
  home = path.join(base, 'home');
  // A state root whose path alone is longer than a line.
  root = generateHome({ kind: 'openclaw', scale: 'small', dir: path.join(base, 'a-rather-long-directory-name-for-the-agents', 'and-another-long-segment-below-it', 'openclaw-home') }).root;
  fs.writeFileSync(path.join(root, 'workspace', 'terminal-note.md'), 'first\n');
  fs.writeFileSync(path.join(root, 'workspace', 'line\nbreak.md'), 'a newline in the name\n');
  await ok(['sandbox', 'add', SB, '--agent', 'openclaw', '--root', root]);
  await ok([SB, 'snapshot', 'create', '--name', LABEL]);
  fs.writeFileSync(path.join(root, 'workspace', 'terminal-note.md'), 'second, longer\n');
  fs.writeFileSync(path.join(root, 'workspace', 'new\nline.md'), 'added after v1\n');
  await ok([SB, 'snapshot', 'create']);
}, 120_000);

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('tables piped', () => {
  it('every table fits 80 columns, one line per row, without box drawing', async () => {
    expect(root.length).toBeGreaterThan(80);
    for (const args of TABLES) {
      const lines = stdoutLines(await ok(args));
      expect(lines.length, args.join(' ')).toBeGreaterThan(1);
      expect(widest(lines), `${args.join(' ')}:\n${lines.join('\n')}`).toBeLessThanOrEqual(80);
      expect(lines.join('\n'), args.join(' ')).not.toMatch(/[│─┌┐└┘├┤┼]/);
    }
    const list = stdoutLines(await ok([SB, 'snapshot', 'list']));
    // The id and timestamp a user types back are never shortened; labels give way (Unique is in --wide).
    expect(list[0]).toMatch(/^Version +ID +Timestamp +Name +Scope +Files +Size$/);
    // One line per snapshot right under the header: no separator lines. Two snapshots taken within one
    // second keep their whole timestamps (milliseconds and Z), so that each still names one snapshot.
    expect(list[1]).toMatch(/^v1 +[0-9a-f]{8} +2\d{3}-\d\d-\d\dT[\d-]+Z? +bef\S*…\S* +/);
    expect(list[2]).toMatch(/^v2 /);
  });

  it('--wide shows whole paths and labels', async () => {
    const narrow = String((await ok(['sandbox', 'list'])).stdout);
    expect(narrow).not.toContain(root);
    expect(narrow).toMatch(/^oc +openclaw +\/.*….*openclaw-home +yes$/m);
    const wide = stdoutLines(await ok(['sandbox', 'list', '--wide']));
    expect(wide[1]).toMatch(new RegExp(`^oc +openclaw +${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +yes$`));
    expect(widest(wide)).toBeGreaterThan(80);
    const list = String((await ok([SB, 'snapshot', 'list', '--wide'])).stdout);
    expect(list).toMatch(new RegExp(`^v1 +[0-9a-f]{8} +\\S+ +${LABEL} +`, 'm'));
  });

  it('a newline in a file name is shown as \\n and never breaks a row', async () => {
    const diff = stdoutLines(await ok([SB, 'snapshot', 'diff', 'v1']));
    expect(diff).toContainEqual(expect.stringMatching(/^\+ workspace\/new\\nline\.md {2}\(15 B\)$/));
    expect(diff.some((l) => l.startsWith('line.md'))).toBe(false);
    const between = stdoutLines(await ok([SB, 'snapshot', 'diff', 'v1', 'v2']));
    expect(between).toContainEqual(expect.stringMatching(/^\+ workspace\/new\\nline\.md/));
    const ls = stdoutLines(await ok([SB, 'snapshot', 'ls', 'v1', 'workspace', '--long']));
    expect(ls).toContainEqual(expect.stringMatching(/ workspace\/line\\nbreak\.md$/));
    expect(ls.some((l) => l.startsWith('break.md'))).toBe(false);
    // The name itself is kept as it is: only its display is escaped.
    const doc = json<{ added: Array<{ path: string }> }>(await ok([SB, 'snapshot', 'diff', 'v1', '--json']));
    expect(doc.added.map((a) => a.path)).toContain('workspace/new\nline.md');
  });
});

describe('--verbose', () => {
  it('lists each file copied or linked by a snapshot, and each file a restore writes', async () => {
    fs.writeFileSync(path.join(root, 'workspace', 'terminal-note.md'), 'third\n');
    const created = await ok([SB, 'snapshot', 'create', '--verbose']);
    const listed = String(created.stderr).split('\n').filter((l) => /^(copied|linked) /.test(l));
    const counts = /(\d+) copied .*, (\d+) unchanged \(hard-linked\)/.exec(String(created.stdout));
    expect(counts, String(created.stdout)).not.toBeNull();
    expect(listed.filter((l) => l.startsWith('copied ')).length).toBe(Number(counts![1]));
    expect(listed.filter((l) => l.startsWith('linked ')).length).toBe(Number(counts![2]));
    expect(listed).toContain('copied workspace/terminal-note.md');
    expect(listed).toContain('linked workspace/line\\nbreak.md');
    expect(listed).toContain('linked openclaw.json');

    const quiet = await ok([SB, 'snapshot', 'create']);
    expect(String(quiet.stderr)).not.toMatch(/^(copied|linked) /m);

    const restored = await ok([SB, 'snapshot', 'restore', LABEL, '--yes', '--verbose', '--no-pre-restore']);
    expect(String(restored.stderr).split('\n')).toContain('restored workspace/terminal-note.md');
    expect(fs.readFileSync(path.join(root, 'workspace', 'terminal-note.md'), 'utf8')).toBe('first\n');
    // A file the live state already holds as the snapshot has it is not written again, so not listed.
    expect(String(restored.stderr)).toMatch(/^restored openclaw\.json$/m);
    expect(String(restored.stderr)).not.toMatch(/^restored workspace\/line\\nbreak\.md$/m);
  });
});

describe('on a terminal', () => {
  it('the progress bar shows phase, files, bytes, rate and ETA under NO_COLOR, and the terminal is left clean', async () => {
    const run = await clawbackOnTty(home, [SB, 'snapshot', 'create'], [], { columns: 80, env: { CLAWBACK_PROGRESS_DELAY_MS: '0' } });
    expect(run.exitCode, run.output).toBe(0);
    const out = run.output;
    expect(out).toMatch(/copy \[[=-]+\] \d+% \d+\/\d+ files [\d.]+ [KMG]?i?B\/[\d.]+ [KMG]?i?B (-|[\d.]+ [KMG]?i?B\/s) ETA/);
    expect(out).toMatch(/copy \[=+\] 100% (\d+)\/\1 files/);
    // Colour is off (NO_COLOR=1): no SGR sequence at all.
    expect(out).not.toMatch(/\u001b\[[0-9;]*m/);
    // The bar hid the cursor and turned wrapping off; both are back on after it, and nothing turned them off again.
    const hide = out.lastIndexOf(`${ESC}[?25l`);
    const wrapOff = out.lastIndexOf(`${ESC}[?7l`);
    expect(hide).toBeGreaterThanOrEqual(0);
    expect(wrapOff).toBeGreaterThanOrEqual(0);
    expect(out.lastIndexOf(`${ESC}[?25h`)).toBeGreaterThan(hide);
    expect(out.lastIndexOf(`${ESC}[?7h`)).toBeGreaterThan(wrapOff);
    expect(out).toMatch(/✓ oc [0-9a-f]{8}:/);
  }, 60_000);

  it('an empty NO_COLOR= counts as unset; --quiet shows no bar', async () => {
    const empty = await clawbackOnTty(home, [SB, 'snapshot', 'create'], [], { columns: 80, env: { NO_COLOR: '', CLAWBACK_PROGRESS_DELAY_MS: '0' } });
    expect(empty.exitCode, empty.output).toBe(0);
    expect(empty.output).toMatch(/copy \[[=-]+\]/);
    const quiet = await clawbackOnTty(home, [SB, 'snapshot', 'create', '--quiet'], [], { columns: 80, env: { CLAWBACK_PROGRESS_DELAY_MS: '0' } });
    expect(quiet.exitCode, quiet.output).toBe(0);
    expect(quiet.output).not.toContain('copy [');
    expect(quiet.output).not.toContain(`${ESC}[?25l`);
  }, 60_000);

  it('every table fits the terminal: 80 columns, and a narrower one', async () => {
    for (const args of TABLES) {
      const run = await clawbackOnTty(home, args, [], { columns: 80 });
      expect(run.exitCode, run.output).toBe(0);
      const lines = screenLines(run.output);
      expect(widest(lines), `${args.join(' ')}:\n${lines.join('\n')}`).toBeLessThanOrEqual(80);
    }
    for (const args of [['sandbox', 'list'], [SB, 'snapshot', 'list'], ['status']]) {
      const narrow = await clawbackOnTty(home, args, [], { columns: 60 });
      expect(narrow.exitCode, narrow.output).toBe(0);
      expect(widest(screenLines(narrow.output)), narrow.output).toBeLessThanOrEqual(60);
    }
  }, 120_000);
});
