import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import JSON5 from 'json5';
import { afterAll, describe, expect, it } from 'vitest';
import { generateHome, type FixtureKind, type GeneratedHome } from '../../fixtures/generate.js';
import { readTree, type TreeItem } from '../helpers/tree.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-fixtures-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
function freshDir(): string {
  return path.join(scratch, `home-${counter++}`);
}

/** Every tree a home wrote: the root, and for qwenpaw the secrets dir and the outside workspace. */
function homeTrees(h: GeneratedHome): string[] {
  const tops = [h.root];
  if (h.secretsDir !== undefined) tops.push(h.secretsDir);
  const research = h.databases.find((db) => !db.startsWith(h.root + path.sep));
  if (research !== undefined) tops.push(path.dirname(research));
  return tops;
}

/** The home's trees with mtimes and each root itself: a generator must reproduce all of it. */
function treesOf(h: GeneratedHome): Array<Map<string, TreeItem>> {
  return homeTrees(h).map((top) => readTree(top, { times: true, withRoot: true }));
}

function symlinksOf(home: GeneratedHome): Array<{ rel: string; target: string }> {
  return [...readTree(home.root)].filter(([, item]) => item.type === 'symlink').map(([rel, item]) => ({ rel, target: item.target! }));
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function rowCount(file: string, table: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const KINDS: FixtureKind[] = ['openclaw', 'hermes', 'deepagents', 'qwenpaw'];

const homes = new Map<FixtureKind, GeneratedHome>();
/** One tiny home per kind with the default seed, shared by the tests below. */
function home(kind: FixtureKind): GeneratedHome {
  let generated = homes.get(kind);
  if (generated === undefined) {
    const dir = freshDir();
    const outsideWorkspaceDir = kind === 'qwenpaw' ? path.join(`${dir}-outside`, 'research') : undefined;
    generated = generateHome({ kind, scale: 'tiny', dir, ...(outsideWorkspaceDir === undefined ? {} : { outsideWorkspaceDir }) });
    homes.set(kind, generated);
  }
  return generated;
}

describe('generateHome determinism', () => {
  for (const kind of KINDS) {
    it(`${kind}: the same seed gives the same tree, another seed a different one`, () => {
      const dir = freshDir();
      const first = generateHome({ kind, scale: 'tiny', dir, seed: 7 });
      const firstTrees = treesOf(first);
      fs.rmSync(dir, { recursive: true, force: true });

      const second = generateHome({ kind, scale: 'tiny', dir, seed: 7 });
      expect(treesOf(second)).toEqual(firstTrees);
      expect(second).toEqual(first);
      fs.rmSync(dir, { recursive: true, force: true });

      // The structure tests' home has the default seed: the digest must tell the two apart.
      expect(treesOf(home(kind))).not.toEqual(firstTrees);
    });
  }
});

describe('generateHome structure', () => {
  for (const kind of KINDS) {
    it(`${kind}: files and bytes match what is on disk, at the tiny size`, () => {
      const h = home(kind);
      const files = treesOf(h).flatMap((tree) => [...tree.values()]).filter((e) => e.type === 'file');
      expect(h.files).toBe(files.length);
      expect(h.bytes).toBe(files.reduce((sum, e) => sum + e.size!, 0));
      expect(h.files).toBeGreaterThan(kind === 'deepagents' ? 20 : 95);
      expect(h.files).toBeLessThan(200);
      expect(h.bytes - h.sparseBytes).toBeLessThan(700_000);
    });

    it(`${kind}: symlinks are relative and resolve inside the root, but for the links the agent manages`, () => {
      const h = home(kind);
      const managed = new Map(h.expect.managedLinks.map((l) => [l.path, l.target]));
      for (const link of symlinksOf(h)) {
        if (managed.has(link.rel)) {
          expect(link.target).toBe(managed.get(link.rel));
          expect(path.isAbsolute(link.target)).toBe(true);
          expect(path.relative(h.root, link.target).startsWith('..')).toBe(false);
          expect(fs.statSync(link.target).isDirectory()).toBe(true);
          continue;
        }
        expect(path.isAbsolute(link.target)).toBe(false);
        const resolved = path.resolve(h.root, path.dirname(link.rel), link.target);
        expect(path.relative(h.root, resolved).startsWith('..')).toBe(false);
        expect(fs.existsSync(resolved)).toBe(true);
      }
    });

    it(`${kind}: every path it says a snapshot must capture, or leave out, is there`, () => {
      const h = home(kind);
      const { captured, excluded, machineLocal, secrets } = h.expect;
      if (kind !== 'qwenpaw') expect(captured.length).toBeGreaterThan(10);
      for (const rel of [...captured, ...excluded, ...machineLocal, ...secrets]) expect(fs.lstatSync(path.join(h.root, rel))).toBeTruthy();
    });

    it(`${kind}: every database is in WAL mode, passes quick_check and keeps its latest rows in the -wal`, () => {
      const h = home(kind);
      expect(h.databases.length).toBeGreaterThan(0);
      for (const file of h.databases) {
        expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
        const db = new Database(file, { readonly: true });
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.pragma('quick_check', { simple: true })).toBe('ok');
        db.close();
        const counts = Object.entries(h.rowCounts[file] ?? {});
        expect(counts.length).toBeGreaterThan(0);
        for (const [table, rows] of counts) expect(rowCount(file, table)).toBe(rows);

        // The main file alone lacks the rows still in the -wal: a raw copy loses data.
        const copy = path.join(scratch, `raw-copy-${counter++}.db`);
        fs.copyFileSync(file, copy);
        const total = (db: string): number => counts.reduce((sum, [table]) => sum + rowCount(db, table), 0);
        expect(total(copy)).toBeLessThan(total(file));
      }
    });
  }

  it('openclaw: config, workspaces, agents, secrets and caches are where OpenClaw keeps them', () => {
    const h = home('openclaw');
    const text = fs.readFileSync(path.join(h.root, 'openclaw.json'), 'utf8');
    expect(() => JSON.parse(text)).toThrow();
    const config = JSON5.parse<{
      gateway: { port: number };
      agents: { $include: string };
      models: { providers: { anthropic: { apiKey: string } } };
    }>(text);
    expect(config.gateway.port).toBe(18789);
    expect(config.models.providers.anthropic.apiKey).toBe('${ANTHROPIC_API_KEY}');
    expect(config.agents.$include).toBe('./config/agents.json5');
    const included = JSON5.parse<{ list: { id: string }[] }>(fs.readFileSync(path.join(h.root, 'config', 'agents.json5'), 'utf8'));
    expect(included.list.map((a) => a.id)).toEqual(['main', ...h.agents]);
    expect(fs.readFileSync(path.join(h.root, 'openclaw.json.last-good'), 'utf8')).toBe(text);
    expect(fs.readFileSync(path.join(h.root, '.config-hash'), 'utf8')).toBe(`${createHash('sha256').update(text).digest('hex')}  openclaw.json\n`);
    expect(fs.readdirSync(h.root).filter((n) => n.startsWith('openclaw.json.clobbered.'))).toHaveLength(1);
    expect(h.agents).toEqual(['research', 'ops']);
    for (const agent of ['main', ...h.agents]) {
      const workspace = path.join(h.root, agent === 'main' ? 'workspace' : `workspace-${agent}`);
      for (const name of ['AGENTS.md', 'SOUL.md', 'IDENTITY.md', 'USER.md', 'MEMORY.md']) expect(fs.statSync(path.join(workspace, name)).isFile()).toBe(true);
      const agentDb = path.join(h.root, 'agents', agent, 'agent', 'openclaw-agent.sqlite');
      expect(h.databases).toContain(agentDb);
      const db = new Database(agentDb, { readonly: true });
      const cold = db.prepare("SELECT transcript_path AS p FROM sessions WHERE storage = 'cold'").all() as { p: string }[];
      db.close();
      expect(cold.length).toBeGreaterThan(0);
      for (const { p } of cold) expect(fs.statSync(path.join(h.root, 'agents', agent, p)).isFile()).toBe(true);
      const sessions = fs.readdirSync(path.join(h.root, 'agents', agent, 'sessions')).filter((n) => n.endsWith('.jsonl'));
      expect(sessions.length).toBeGreaterThan(0);
      for (const line of fs.readFileSync(path.join(h.root, 'agents', agent, 'sessions', sessions[0] ?? ''), 'utf8').trimEnd().split('\n')) {
        expect(() => JSON.parse(line)).not.toThrow();
      }
    }
    expect(h.databases).toContain(path.join(h.root, 'memory', 'main.sqlite'));
    expect(h.databases).toContain(path.join(h.root, 'state', 'openclaw.sqlite'));
    expect(h.rowCounts[path.join(h.root, 'memory', 'main.sqlite')]?.chunks).toBe(500);
    expect(fs.statSync(path.join(h.root, '.env')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(h.root, 'credentials')).mode & 0o777).toBe(0o700);
    const [account] = fs.readdirSync(path.join(h.root, 'credentials', 'whatsapp'));
    expect(fs.statSync(path.join(h.root, 'credentials', 'whatsapp', account ?? '', 'creds.json')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.join(h.root, 'browser', 'Default', 'Cache', 'Cache_Data')).length).toBeGreaterThan(5);
    expect(fs.readdirSync(path.join(h.root, 'browser', 'Default', 'GPUCache')).length).toBeGreaterThan(0);
    for (const file of ['identity/device.json', 'devices/paired.json', 'logs/gateway.log', 'canvas/index.html', 'cron/jobs.json', 'state/openclaw.sqlite']) {
      expect(fs.statSync(path.join(h.root, file)).isFile()).toBe(true);
    }
    const links = symlinksOf(h).map((l) => l.rel);
    expect(links).toContain(path.join('workspace', 'current-notes'));
    expect(links).toContain(path.join('workspace-research', 'shared-skills'));
    expect(h.expect.managedLinks.map((l) => l.path).sort()).toEqual(links.filter((l) => l.startsWith('plugin-skills/')));
    expect(h.expect.managedLinks.length).toBeGreaterThan(1);
  });

  it('openclaw: the extensions share a pnpm store of hard links, reached through relative symlinks', () => {
    const h = home('openclaw');
    expect(h.hardLinks).toBeGreaterThan(0);
    const stores = fs.readdirSync(path.join(h.root, 'extensions')).map((ext) => path.join(h.root, 'extensions', ext, 'node_modules', '.pnpm'));
    const [first, second] = stores.map((store) => new Set(fs.readdirSync(store)));
    const shared = [...(first ?? [])].filter((pkg) => second?.has(pkg));
    expect(shared.length).toBeGreaterThan(0);
    const pkg = shared[0]!;
    const name = pkg.slice(0, pkg.lastIndexOf('@')).replace('+', '/');
    const files = stores.slice(0, 2).map((store) => fs.statSync(path.join(store, pkg, 'node_modules', name, 'package.json')));
    expect(files[0]!.ino).toBe(files[1]!.ino);
    expect(files[0]!.nlink).toBeGreaterThan(1);
    const modules = path.dirname(stores[0]!);
    const link = path.join(modules, name);
    expect(fs.readlinkSync(link)).toBe(path.relative(path.dirname(link), path.join(modules, '.pnpm', pkg, 'node_modules', name)));
  });

  it('openclaw: a second $include outside the home only when asked, never inside it', () => {
    const dir = freshDir();
    const outside = `${dir}-shared`;
    const h = generateHome({ kind: 'openclaw', scale: 'tiny', dir, outsideIncludeDir: outside });
    expect(h.paths.outsideInclude).toBe(path.join(outside, 'shared-tools.json5'));
    const config = JSON5.parse<{ tools: { $include: string } }>(fs.readFileSync(path.join(h.root, 'openclaw.json'), 'utf8'));
    expect(config.tools.$include).toBe(h.paths.outsideInclude);
    expect(JSON5.parse<{ profile: string }>(fs.readFileSync(h.paths.outsideInclude!, 'utf8')).profile).toBe('full');
    expect(home('openclaw').paths.outsideInclude).toBeUndefined();
    const other = freshDir();
    expect(() => generateHome({ kind: 'openclaw', scale: 'tiny', dir: other, outsideIncludeDir: path.join(other, 'x') })).toThrow(/outside the home/);
    expect(fs.existsSync(other)).toBe(false);
  });

  it('hermes: persona, memories, sessions and both databases are in place', () => {
    const h = home('hermes');
    for (const file of ['SOUL.md', 'config.yaml', 'auth.json', 'memories/MEMORY.md', 'memories/USER.md', 'cron/jobs.json']) {
      expect(fs.statSync(path.join(h.root, file)).isFile()).toBe(true);
    }
    expect(fs.statSync(path.join(h.root, '.env')).mode & 0o777).toBe(0o600);
    const rel = h.databases.map((db) => path.relative(h.root, db));
    expect(rel).toEqual(['state.db', 'kanban.db', 'response_store.db', path.join('gateway', 'discord_message_recovery.db'), path.join('cron', 'executions.db'), path.join('profiles', 'work', 'state.db')]);
    expect(fs.readFileSync(path.join(h.root, 'memories', 'notes.db'), 'utf8')).not.toMatch(/^SQLite format 3/);
    expect(fs.readFileSync(h.paths.lockedDatabase!).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    expect(h.paths.lockedDatabase!.startsWith(path.join(h.root, 'browser-profiles') + path.sep)).toBe(true);
    for (const file of ['vault.key', 'vault.json.enc', 'browser-profile/Default/Cookies', 'browser-profile/Default/Login Data', 'gateway_state.json', 'processes.json', 'gateway.pid', 'kanban.db.4242.lock', 'skills/.archive/old-digest/SKILL.md', 'profiles/work/config.yaml']) {
      expect(fs.statSync(path.join(h.root, file)).isFile()).toBe(true);
    }
    expect(h.agents).toEqual(['work']);
    const latest = readJson(path.join(h.root, 'sessions', 'latest.json')) as { messages: unknown[]; message_count: number };
    expect(latest.messages.length).toBe(latest.message_count);
    expect(fs.readdirSync(path.join(h.root, 'skills')).length).toBeGreaterThan(3);
  });

  it('hermes: models, runtimes, node and the code checkout are sparse files of the size asked for', () => {
    const dir = freshDir();
    const h = generateHome({ kind: 'hermes', scale: 'tiny', dir, sparseBytes: 3 * 1024 ** 3, nemoclawSandbox: true });
    expect(h.sparseBytes).toBeGreaterThan(2.9 * 1024 ** 3);
    let apparent = 0;
    let disk = 0;
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.isFile()) {
          const st = fs.statSync(full);
          apparent += st.size;
          disk += st.blocks * 512;
        }
      }
    };
    for (const big of ['models', 'runtimes', 'node', 'hermes-agent']) walk(path.join(h.root, big));
    expect(apparent).toBeGreaterThan(2.8 * 1024 ** 3);
    expect(disk).toBeLessThan(4 * 1024 * 1024);
    expect(fs.readlinkSync(path.join(h.root, 'state.db'))).toBe('runtime/state.db');
    expect(h.databases[0]).toBe(path.join(h.root, 'runtime', 'state.db'));
  });

  it('deepagents: config, state database, history and per-agent dirs with memories, skills and subagents', () => {
    const h = home('deepagents');
    for (const file of ['config.toml', '.env', 'hooks.json', '.mcp.json', '.state/history.jsonl', '.state/mcp-tokens/github.json', 'agent/AGENTS.md']) {
      expect(fs.statSync(path.join(h.root, file)).isFile()).toBe(true);
    }
    expect(h.databases).toEqual([path.join(h.root, '.state', 'sessions.db')]);
    expect(h.agents).toEqual(['researcher']);
    for (const agent of ['agent', ...h.agents]) {
      for (const sub of ['memories', 'skills', 'agents']) expect(fs.readdirSync(path.join(h.root, agent, sub)).length).toBeGreaterThan(0);
    }
  });

  it('qwenpaw: by default the research workspace is <dir>/elsewhere/research', () => {
    const dir = freshDir();
    const h = generateHome({ kind: 'qwenpaw', scale: 'tiny', dir, seed: 3 });
    const config = readJson(path.join(h.root, 'config.json')) as { agents: { profiles: Record<string, { workspace_dir: string }> } };
    expect(config.agents.profiles.research?.workspace_dir).toBe(path.join(dir, 'elsewhere', 'research'));
    expect(h.databases).toContain(path.join(dir, 'elsewhere', 'research', 'chat_history.db'));
  });

  it('qwenpaw: one workspace lives outside the working dir (here: where it was told), secrets are private', () => {
    const h = home('qwenpaw');
    expect(h.root.endsWith(`${path.sep}working`)).toBe(true);
    expect(h.secretsDir).toBe(`${h.root}.secret`);
    expect(h.agents).toEqual(['default', 'research']);
    const config = readJson(path.join(h.root, 'config.json')) as {
      agents: { active_agent: string; profiles: Record<string, { id: string; workspace_dir: string; enabled: boolean }> };
    };
    expect(config.agents.active_agent).toBe('default');
    const { default: main, research } = config.agents.profiles;
    expect(main?.workspace_dir).toBe(path.join(h.root, 'workspaces', 'default'));
    expect(path.isAbsolute(research?.workspace_dir ?? '')).toBe(true);
    expect(path.relative(h.root, research?.workspace_dir ?? '').startsWith('..')).toBe(true);
    expect(research?.workspace_dir).toBe(path.join(`${path.dirname(h.root)}-outside`, 'research'));
    for (const profile of [main, research]) {
      const workspace = profile?.workspace_dir ?? '';
      expect((readJson(path.join(workspace, 'agent.json')) as { workspace_dir: string }).workspace_dir).toBe(workspace);
      expect(h.databases).toContain(path.join(workspace, 'chat_history.db'));
      expect(fs.readdirSync(path.join(workspace, 'browser', 'Default', 'Cache', 'Cache_Data')).length).toBeGreaterThan(0);
    }
    const secrets = h.secretsDir ?? '';
    expect(fs.statSync(secrets).mode & 0o777).toBe(0o700);
    for (const name of ['providers.json', 'envs.json', 'master.key']) expect(fs.statSync(path.join(secrets, name)).mode & 0o777).toBe(0o600);
    expect((readJson(path.join(secrets, 'providers.json')) as { providers: Record<string, { api_key: string }> }).providers.dashscope?.api_key).toMatch(/^sk-test-/);
    expect(fs.statSync(path.join(h.root, 'skill_pool')).isDirectory()).toBe(true);
  });

  it('refuses a directory that is not empty', () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine');
    expect(() => generateHome({ kind: 'openclaw', scale: 'tiny', dir })).toThrow(/not empty/);
    expect(fs.readdirSync(dir)).toEqual(['keep.txt']);
  });
});
