import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { BIN, clawback, REPO, tempDir } from '../helpers/cli.js';

/** Commander's parse errors come out in clawback's one error form, in the grammar users type. */
let base: string;
let home: string;

beforeAll(() => {
  base = tempDir('clawback-grammar-');
  home = path.join(base, 'home');
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

const INTERNAL = /snapshot-[a-z]|Expected \d+ argument|error: /;

const CASES: Array<{ kind: string; args: string[]; message: RegExp; hint: RegExp }> = [
  { kind: 'unknown option', args: ['oc', 'snapshot', 'list', '--bogus'], message: /^unknown option --bogus for snapshot list$/, hint: /clawback <name> snapshot list --help/ },
  { kind: 'unknown global option', args: ['--bogus', 'sandbox', 'list'], message: /^unknown option --bogus$/, hint: /clawback --help/ },
  { kind: 'unknown snapshot verb', args: ['oc', 'snapshot', 'frobnicate'], message: /^unknown snapshot verb "frobnicate"$/, hint: /create, list, show/ },
  { kind: 'unknown command', args: ['frobnicate'], message: /^unknown command "frobnicate"$/, hint: /<name> snapshot <verb>/ },
  { kind: 'unknown subcommand', args: ['sandbox', 'frobnicate'], message: /^unknown command "sandbox frobnicate"$/, hint: /add, set, list, show, remove/ },
  { kind: 'missing argument', args: ['oc', 'snapshot', 'show'], message: /^missing argument <selector> for snapshot show$/, hint: /clawback <name> snapshot show --help/ },
  { kind: 'missing option value', args: ['oc', 'snapshot', 'create', '--name'], message: /^option --name needs a value for snapshot create$/, hint: /--name <label>/ },
  { kind: 'too many arguments', args: ['oc', 'snapshot', 'show', 'v1', 'v2'], message: /^too many arguments for snapshot show: it takes <selector>$/, hint: /snapshot show --help/ },
  { kind: 'too many arguments (none taken)', args: ['oc', 'rebuild', 'extra'], message: /^too many arguments for rebuild: it takes none$/, hint: /clawback <name> rebuild --help/ },
];

describe('parse errors', () => {
  for (const c of CASES) {
    it(`${c.kind}: one line, a hint, exit 2; JSON on stderr under --json`, async () => {
      const text = await clawback(home, c.args);
      expect(text.exitCode).toBe(2);
      expect(String(text.stdout)).toBe('');
      const lines = String(text.stderr).trimEnd().split('\n');
      expect(lines, String(text.stderr)).toHaveLength(2);
      expect(lines[0]!.replace(/^clawback: /, '')).toMatch(c.message);
      expect(lines[0]).toMatch(/^clawback: /);
      expect(lines[1]).toMatch(/^hint: /);
      expect(lines[1]).toMatch(c.hint);
      expect(String(text.stderr)).not.toMatch(INTERNAL);

      const json = await clawback(home, [...c.args, '--json']);
      expect(json.exitCode).toBe(2);
      expect(String(json.stdout)).toBe('');
      const doc = JSON.parse(String(json.stderr)) as { code: string; message: string; exitCode: number; hint: string };
      expect(doc).toMatchObject({ code: 'usage', exitCode: 2 });
      expect(doc.message).toMatch(c.message);
      expect(doc.hint).toMatch(c.hint);
      expect(String(json.stderr)).not.toMatch(INTERNAL);
    });
  }
});

describe('help and version', () => {
  it('the grammar help is generated from the commands: every option, in the grammar users type', async () => {
    const help = String((await clawback(home, ['--help'])).stdout);
    for (const flag of ['--keep-yearly <n>', '--exact', '--passphrase-file <file>', '--no-pre-restore', '--older-than <duration>']) expect(help).toContain(flag);
    expect(help).toContain('clawback <name> snapshot prune');
    expect(help).toContain('clawback <name> rebuild [--yes]');
    expect(help).not.toMatch(/snapshot-[a-z]/);
  });

  it("a per-sandbox command's help shows the user grammar", async () => {
    const help = await clawback(home, ['oc', 'snapshot', 'list', '--help']);
    expect(help.exitCode).toBe(0);
    expect(String(help.stdout)).toMatch(/^Usage: clawback <name> snapshot list \[options\]/);
    expect(String(help.stdout)).toContain('--exact');
    expect(String(help.stdout)).not.toMatch(/snapshot-[a-z]/);
  });

  it('--version is the version in package.json', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    const result = await clawback(home, ['--version']);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout).trim()).toBe(pkg.version);
  });

  it('the launcher runs as npm links it (a symlink, from anywhere), passing its arguments as they are, with a small young generation', async () => {
    const link = path.join(base, 'bin', 'clawback');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(BIN, link);
    const probe = path.join(base, 'argv-probe.mjs');
    fs.writeFileSync(probe, `process.stderr.write('ARGV ' + JSON.stringify([process.execArgv, process.argv.slice(2)]) + '\\n');\n`);
    const result = await execa(link, ['--json', 'sandbox', 'show', "it's a b"], { cwd: '/', reject: false, env: { ...process.env, CLAWBACK_HOME: home, NODE_OPTIONS: `--import ${probe}` } });
    expect(result.exitCode, String(result.stderr)).toBe(4);
    const [execArgv, argv] = JSON.parse(/^ARGV (.*)$/m.exec(String(result.stderr))![1]!) as [string[], string[]];
    expect(execArgv).toContain('--max-semi-space-size=4');
    expect(argv).toEqual(['--json', 'sandbox', 'show', "it's a b"]);
  });
});
