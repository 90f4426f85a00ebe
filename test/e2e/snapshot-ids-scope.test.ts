import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateHome, type GeneratedHome } from '../../fixtures/generate.js';
import { sandboxDir } from '../helpers/bundles.js';
import { clawback, json, tempDir } from '../helpers/cli.js';

interface Scope {
  full: boolean;
  modules: string[] | null;
  agents: string[] | null;
  secrets: boolean;
}
interface CreateDoc {
  snapshot: { timestamp: string; shortId: string; dir: string; files: number; linkedFiles: number; copiedFiles: number };
}
interface ListDoc {
  snapshots: Array<{ id: string; shortId: string; name: string | null; timestamp: string; scope: Scope | null }>;
}
interface ShowDoc {
  snapshot: { shortId: string; timestamp: string };
}
interface RestoreDoc {
  restore: {
    bundle: { timestamp: string; shortId: string; name: string | null; scope: Scope };
    paths: { replaced: string[]; added: string[]; removed: string[] };
    preRestore: { shortId: string; timestamp: string } | null;
  };
}

const FULL: Scope = { full: true, modules: null, agents: null, secrets: true };

let base: string;
let home: string;
let sample: GeneratedHome;

/** The short id as the README defines it: the first 8 hex of sha256("<sandbox>\0<timestamp>"). */
function expectedShortId(sandbox: string, timestamp: string): string {
  return createHash('sha256').update(`${sandbox}\0${timestamp}`).digest('hex').slice(0, 8);
}

async function create(...args: string[]): Promise<CreateDoc['snapshot']> {
  const result = await clawback(home, ['oc', 'snapshot', 'create', ...args, '--json']);
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return json<CreateDoc>(result).snapshot;
}

async function list(): Promise<ListDoc['snapshots']> {
  const result = await clawback(home, ['oc', 'snapshot', 'list', '--json']);
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return json<ListDoc>(result).snapshots;
}

/** Every regular file under a bundle's payload, by payload path. */
function payloadFiles(dir: string): Map<string, fs.Stats> {
  const out = new Map<string, fs.Stats>();
  const walk = (current: string, rel: string): void => {
    for (const name of fs.readdirSync(current)) {
      const full = path.join(current, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const stat = fs.lstatSync(full);
      if (stat.isDirectory()) walk(full, childRel);
      else if (stat.isFile()) out.set(childRel, stat);
    }
  };
  walk(path.join(dir, 'payload'), '');
  return out;
}

/** A copy of a real bundle filed under another timestamp, its manifest saying so too (the inventory and its checksum are untouched). */
function cloneBundle(from: string, timestamp: string): void {
  const to = path.join(sandboxDir(home, 'oc'), timestamp);
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  const manifest = path.join(to, 'rebuild-manifest.json');
  const text = fs.readFileSync(manifest, 'utf8').replace(/"timestamp": "[^"]+"/, `"timestamp": ${JSON.stringify(timestamp)}`);
  fs.writeFileSync(manifest, text);
}

/** Bundle timestamps of 2025, one per millisecond from New Year, for finding short ids with a wanted prefix. */
function* timestamps2025(): Generator<string> {
  for (let ms = Date.UTC(2025, 0, 1); ; ms++) yield new Date(ms).toISOString().replace(/[:.]/g, '-');
}

beforeEach(async () => {
  base = tempDir('clawback-ids-');
  home = path.join(base, 'home');
  sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') });
  const added = await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', sample.root]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('a partial snapshot between two full ones', () => {
  it('is not what a bare restore restores, and the next full snapshot still hard-links every unchanged file', async () => {
    const full = await create('--name', 'full');
    const config = await create('--only', 'config', '--name', 'config-only');
    const next = await create();
    // Every file was unchanged: all linked, none copied, each from the newest bundle that holds it.
    expect(next.files).toBe(full.files);
    expect(next.linkedFiles).toBe(full.files);
    expect(next.copiedFiles).toBe(0);
    const first = payloadFiles(full.dir);
    const middle = payloadFiles(config.dir);
    const last = payloadFiles(next.dir);
    expect([...last.keys()].sort()).toEqual([...first.keys()].sort());
    expect(middle.size).toBeGreaterThan(0);
    expect(middle.size).toBeLessThan(first.size);
    for (const [rel, stat] of last) {
      expect(stat.ino, rel).toBe(first.get(rel)!.ino);
      expect(stat.nlink, rel).toBe(middle.has(rel) ? 3 : 2);
    }

    // Now a change, and another config-only snapshot on top: a bare restore takes the newest FULL one.
    await create('--only', 'config', '--name', 'config-again');
    const soul = path.join(sample.root, 'workspace', 'SOUL.md');
    const captured = fs.readFileSync(soul);
    fs.appendFileSync(soul, '\nedited after the snapshots\n');
    const restored = await clawback(home, ['oc', 'snapshot', 'restore', '--yes', '--json']);
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<RestoreDoc>(restored).restore;
    expect(doc.bundle.timestamp).toBe(next.timestamp);
    expect(doc.bundle.shortId).toBe(next.shortId);
    expect(doc.bundle.scope).toEqual(FULL);
    expect(fs.readFileSync(soul).equals(captured)).toBe(true);

    // `latest` with --only config may take the newest config-only snapshot: it holds what is asked.
    const onlyConfig = await clawback(home, ['oc', 'snapshot', 'restore', 'latest', '--only', 'config', '--dry-run', '--json']);
    expect(onlyConfig.exitCode, String(onlyConfig.stderr)).toBe(0);
    expect(json<RestoreDoc>(onlyConfig).restore.bundle.name).toBe('config-again');
  });

  it('says so when a restore reads a partial snapshot, and restores only what it holds', async () => {
    await create();
    const config = await create('--only', 'config');
    const soul = path.join(sample.root, 'workspace', 'SOUL.md');
    const configFile = path.join(sample.root, 'openclaw.json');
    fs.appendFileSync(soul, '\nnot in the config-only snapshot\n');
    const soulNow = fs.readFileSync(soul);
    const edited = '{"agents":{"defaults":{"model":"edited"}}}\n';
    fs.writeFileSync(configFile, edited);
    const restored = await clawback(home, ['oc', 'snapshot', 'restore', config.shortId.slice(0, 4), '--yes', '--json']);
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    const doc = json<RestoreDoc>(restored).restore;
    expect(doc.bundle.timestamp).toBe(config.timestamp);
    expect(doc.bundle.scope).toEqual({ full: false, modules: ['config'], agents: null, secrets: false });
    // Only the config module was touched (openclaw.json is merged, so its bytes are not the snapshot's).
    expect(fs.readFileSync(configFile, 'utf8')).not.toBe(edited);
    const touched = [...doc.paths.replaced, ...doc.paths.added, ...doc.paths.removed];
    expect(touched).toContain('openclaw.json');
    expect(touched.filter((p) => !['openclaw.json', 'openclaw.json.last-good', '.config-hash'].includes(p))).toEqual([]);
    expect(fs.readFileSync(soul).equals(soulNow)).toBe(true);

    const text = await clawback(home, ['oc', 'snapshot', 'restore', config.timestamp, '--dry-run']);
    expect(text.exitCode, String(text.stderr)).toBe(0);
    expect(String(text.stdout)).toContain('from a partial snapshot (config; no secrets)');
  });

  it('with only partial snapshots, a bare restore takes the newest and says it is partial', async () => {
    const config = await create('--only', 'config');
    const result = await clawback(home, ['--wide', 'oc', 'snapshot', 'restore', '--yes', '--dry-run']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain(config.shortId);
    expect(String(result.stdout)).toContain('from a partial snapshot (config; no secrets)');
    // Asking for a module no snapshot holds is still refused, naming what was asked.
    const workspaces = await clawback(home, ['oc', 'snapshot', 'restore', '--only', 'workspaces', '--yes']);
    expect(workspaces.exitCode).toBe(4);
    expect(String(workspaces.stderr)).toContain('has no snapshot that holds module workspaces');
  });
});

describe('scope', () => {
  it('is shown for full and partial snapshots in list (text and JSON)', async () => {
    await create('--name', 'full');
    await create('--only', 'config', '--name', 'config');
    await create('--no-secrets', '--name', 'no-secrets');
    await create('--agent', 'research', '--name', 'research');
    const scopes = Object.fromEntries((await list()).map((s) => [s.name, s.scope]));
    expect(scopes).toEqual({
      full: FULL,
      config: { full: false, modules: ['config'], agents: null, secrets: false },
      'no-secrets': { full: false, modules: null, agents: null, secrets: false },
      research: { full: false, modules: null, agents: ['research'], secrets: true },
    });
    // --wide: every label and scope whole (the default form fits 80 columns and may shorten them).
    const text = await clawback(home, ['--wide', 'oc', 'snapshot', 'list']);
    const row = (name: string): string => String(text.stdout).split('\n').find((line) => line.includes(` ${name} `)) ?? '';
    expect(row('full')).toMatch(/ full +full +\d+ /);
    expect(row('config')).toContain('config; no secrets');
    expect(row('no-secrets')).toContain('all modules; no secrets');
    expect(row('research')).toContain('agent research');
  });
});

describe('short ids', () => {
  it('are shown in list, show and create, derived from sandbox and timestamp, and select a snapshot by a 4-character prefix', async () => {
    const first = await create('--name', 'first');
    const second = await create();
    expect(first.shortId).toBe(expectedShortId('oc', first.timestamp));
    const rows = await list();
    expect(rows.map((r) => r.shortId)).toEqual([first.shortId, second.shortId]);
    const listText = String((await clawback(home, ['oc', 'snapshot', 'list'])).stdout);
    expect(listText).toContain(first.shortId);

    for (const selector of [first.shortId, first.shortId.slice(0, 4), first.shortId.slice(0, 4).toUpperCase()]) {
      const shown = await clawback(home, ['oc', 'snapshot', 'show', selector, '--json']);
      expect(shown.exitCode, `${selector}: ${String(shown.stderr)}`).toBe(0);
      expect(json<ShowDoc>(shown).snapshot).toMatchObject({ shortId: first.shortId, timestamp: first.timestamp });
    }
    const showText = await clawback(home, ['oc', 'snapshot', 'show', 'first']);
    expect(String(showText.stdout)).toContain(`id:         ${first.shortId}`);
    // Three characters are not a short id (unless they happen to begin a timestamp, as `202` would).
    const three = first.shortId.slice(0, 3);
    if (![first, second].some((s) => s.timestamp.startsWith(three))) {
      expect((await clawback(home, ['oc', 'snapshot', 'show', three])).exitCode).toBe(4);
    }
  });

  it('an ambiguous prefix is a usage error listing the candidates', async () => {
    const real = await create();
    const seen = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (const timestamp of timestamps2025()) {
      const prefix = expectedShortId('oc', timestamp).slice(0, 4);
      if (/^\d+$/.test(prefix)) continue;
      const other = seen.get(prefix);
      if (other !== undefined) {
        pair = [other, timestamp];
        break;
      }
      seen.set(prefix, timestamp);
    }
    cloneBundle(real.dir, pair![0]);
    cloneBundle(real.dir, pair![1]);
    const prefix = expectedShortId('oc', pair![0]).slice(0, 4);
    const result = await clawback(home, ['oc', 'snapshot', 'show', prefix]);
    expect(result.exitCode).toBe(2);
    const stderr = String(result.stderr);
    expect(stderr).toContain(`"${prefix}" matches 2 snapshots of oc`);
    for (const timestamp of pair!) expect(stderr).toContain(`${expectedShortId('oc', timestamp)} `);
    expect(stderr).toContain(pair![0]);
  });

  it('a selector that begins a timestamp is a timestamp prefix before it is a short-id prefix', async () => {
    const real = await create();
    const year = real.timestamp.slice(0, 4);
    let lookalike: string | undefined;
    for (const timestamp of timestamps2025()) {
      if (expectedShortId('oc', timestamp).startsWith(year)) {
        lookalike = timestamp;
        break;
      }
    }
    cloneBundle(real.dir, lookalike!);
    // The year names the real snapshot (its timestamp begins with it), not the one whose short id does.
    const byYear = await clawback(home, ['oc', 'snapshot', 'show', year, '--json']);
    expect(byYear.exitCode, String(byYear.stderr)).toBe(0);
    expect(json<ShowDoc>(byYear).snapshot.timestamp).toBe(real.timestamp);
    // Five characters of the short id begin no timestamp: they select the lookalike.
    const byId = await clawback(home, ['oc', 'snapshot', 'show', expectedShortId('oc', lookalike!).slice(0, 5), '--json']);
    expect(byId.exitCode, String(byId.stderr)).toBe(0);
    expect(json<ShowDoc>(byId).snapshot.timestamp).toBe(lookalike);
  });
});
