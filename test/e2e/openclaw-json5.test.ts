import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import JSON5 from 'json5';
import { afterEach, describe, expect, it } from 'vitest';
import { clawback, json, tempDir } from '../helpers/cli.js';
import { treeDigest } from '../helpers/tree.js';

/** An OpenClaw home whose config is JSON5 with comments and `$include`s, registered as `oc` in a fresh clawback home. */
interface Home {
  dir: string;
  root: string;
  outside: string;
  cli: (...args: string[]) => ReturnType<typeof clawback>;
}

const CONFIG = (port: number, theme: string, outside: string): string => `// OpenClaw configuration (JSON5)
{
  $include: '${outside}', /* shared settings outside the home: never followed */
  gateway: { mode: 'local', port: ${port}, },   // the machine decides this
  ui: { theme: '${theme}' },
  models: {
    providers: {
      openai: { $include: './providers/openai.json5' },
    },
  },
}
`;

const PROVIDER = (baseUrl: string, timeoutSeconds: number): string => `/* the provider, split out */
{
  baseUrl: '${baseUrl}',
  apiKey: 'sk-test',
  timeoutSeconds: ${timeoutSeconds},
}
`;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What OpenClaw and NemoClaw leave beside a config they accepted: the promoted copy and the sha256sum line. */
function acceptConfig(root: string): void {
  const config = fs.readFileSync(path.join(root, 'openclaw.json'));
  fs.writeFileSync(path.join(root, 'openclaw.json.last-good'), config, { mode: 0o600 });
  fs.writeFileSync(path.join(root, '.config-hash'), `${sha256(config)}  openclaw.json\n`);
}

async function openClawHome(): Promise<Home> {
  const dir = tempDir('clawback-json5-');
  const root = path.join(dir, '.openclaw');
  const outside = path.join(dir, 'shared', 'openclaw-shared.json5');
  fs.mkdirSync(path.join(root, 'providers'), { recursive: true });
  fs.mkdirSync(path.join(root, 'workspace'), { recursive: true });
  fs.mkdirSync(path.dirname(outside), { recursive: true });
  fs.writeFileSync(outside, '{ ui: { density: "compact" } }\n');
  fs.writeFileSync(path.join(root, 'openclaw.json'), CONFIG(18789, 'dark', outside));
  fs.writeFileSync(path.join(root, 'providers/openai.json5'), PROVIDER('https://api.openai.com/v1', 30));
  fs.writeFileSync(path.join(root, 'workspace/SOUL.md'), 'calm\n');
  acceptConfig(root);
  const home = path.join(dir, 'home');
  const cli = (...args: string[]): ReturnType<typeof clawback> => clawback(home, args);
  const added = await cli('sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root);
  expect(added.exitCode, String(added.stderr)).toBe(0);
  return { dir, root, outside, cli };
}

interface MergeDoc {
  restore: { merges: Array<{ path: string; report: { fromLive: string[]; fromSnapshot: string[]; rewritten: boolean; outsideIncludes: string[] } }> };
}

let home: Home | undefined;

afterEach(() => {
  if (home) fs.rmSync(home.dir, { recursive: true, force: true });
  home = undefined;
});

describe('OpenClaw JSON5 config on restore', () => {
  it('merges a commented JSON5 openclaw.json and its $include, says the comments were lost, and leaves last-good and .config-hash consistent', async () => {
    const h = (home = await openClawHome());
    const created = await h.cli('oc', 'snapshot', 'create');
    expect(created.exitCode, String(created.stderr)).toBe(0);

    // After the snapshot: an upgrade moves the gateway and the provider's endpoint, the user changes the theme and a timeout;
    // OpenClaw accepts the new config (last-good) and NemoClaw pins it (.config-hash).
    fs.writeFileSync(path.join(h.root, 'openclaw.json'), CONFIG(19001, 'light', h.outside));
    fs.writeFileSync(path.join(h.root, 'providers/openai.json5'), PROVIDER('https://eu.api.openai.com/v1', 60));
    acceptConfig(h.root);
    const outsideBefore = fs.readFileSync(h.outside, 'utf8');

    const planned = await h.cli('oc', 'snapshot', 'restore', '--dry-run', '--json');
    expect(planned.exitCode, String(planned.stderr)).toBe(0);
    const merges = json<MergeDoc>(planned).restore.merges;
    expect(merges.map((m) => m.path).sort()).toEqual(['openclaw.json', 'providers/openai.json5']);
    const main = merges.find((m) => m.path === 'openclaw.json')!.report;
    expect(main).toMatchObject({ fromLive: ['gateway'], fromSnapshot: ['ui'], rewritten: true, outsideIncludes: [h.outside] });
    const provider = merges.find((m) => m.path === 'providers/openai.json5')!.report;
    expect(provider).toMatchObject({ fromLive: ['models.providers.openai.baseUrl'], fromSnapshot: ['models.providers.openai.timeoutSeconds'], rewritten: true });

    const restored = await h.cli('--wide', 'oc', 'snapshot', 'restore'); // whole lines: the default form wraps at 80 columns
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const out = String(restored.stdout);
    expect(out).toContain('config merged: openclaw.json; kept from live: gateway; written anew, so its comments and layout were not kept');
    expect(out).toContain(`$include outside the state root, not restored: ${h.outside}`);

    const configBytes = fs.readFileSync(path.join(h.root, 'openclaw.json'));
    expect(JSON5.parse(configBytes.toString('utf8'))).toEqual({
      $include: h.outside,
      gateway: { mode: 'local', port: 19001 },
      ui: { theme: 'dark' },
      models: { providers: { openai: { $include: './providers/openai.json5' } } },
    });
    expect(JSON5.parse(fs.readFileSync(path.join(h.root, 'providers/openai.json5'), 'utf8'))).toEqual({
      baseUrl: 'https://eu.api.openai.com/v1',
      apiKey: 'sk-test',
      timeoutSeconds: 30,
    });
    // OpenClaw falls back to exactly these bytes; NemoClaw checks this line with sha256sum -c from the config's directory.
    expect(fs.readFileSync(path.join(h.root, 'openclaw.json.last-good')).equals(configBytes)).toBe(true);
    expect(fs.readFileSync(path.join(h.root, '.config-hash'), 'utf8')).toBe(`${sha256(configBytes)}  openclaw.json\n`);
    expect(() => execFileSync('sha256sum', ['-c', '--status', '.config-hash'], { cwd: h.root })).not.toThrow();
    expect(fs.readFileSync(h.outside, 'utf8')).toBe(outsideBefore);
  });

  it('restores the snapshot as it was, companions included, when the live config has gone', async () => {
    const h = (home = await openClawHome());
    const before = treeDigest(h.root);
    expect((await h.cli('oc', 'snapshot', 'create')).exitCode).toBe(0);
    fs.rmSync(path.join(h.root, 'openclaw.json'));
    fs.writeFileSync(path.join(h.root, 'openclaw.json.last-good'), '{}\n');

    const restored = await h.cli('oc', 'snapshot', 'restore', '--no-pre-restore', '--yes');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(treeDigest(h.root)).toEqual(before);
  });

  it('stops before anything changes when the live JSON5 config is broken', async () => {
    const h = (home = await openClawHome());
    expect((await h.cli('oc', 'snapshot', 'create')).exitCode).toBe(0);
    fs.writeFileSync(path.join(h.root, 'openclaw.json'), "// half-edited\n{ gateway: { port: 19001, }, ui: { theme: 'light' \n");
    fs.writeFileSync(path.join(h.root, 'workspace/SOUL.md'), 'changed\n');
    const before = treeDigest(h.root);

    const result = await h.cli('oc', 'snapshot', 'restore');
    expect(result.exitCode).toBe(6);
    expect(String(result.stderr)).toContain('cannot merge openclaw.json: the live copy is not valid JSON5');
    expect(treeDigest(h.root)).toEqual(before);
  });
});
