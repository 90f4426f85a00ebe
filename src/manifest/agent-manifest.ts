import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { LineCounter, Node as YamlNode, Document } from 'yaml';
import { ManifestError } from '../errors.js';
import { foreignPathProblem } from '../fs-safety/safe-path.js';

let yamlModule: typeof Yaml | undefined;
/** The YAML parser, loaded on the first manifest parsed: its 200-odd modules cost every command ~40 ms to load. */
function yaml(): typeof Yaml {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}
const isMap = ((node: unknown) => yaml().isMap(node)) as typeof Yaml.isMap;
const isSeq = ((node: unknown) => yaml().isSeq(node)) as typeof Yaml.isSeq;
const isScalar = ((node: unknown) => yaml().isScalar(node)) as typeof Yaml.isScalar;

export type MergeKind = 'openclaw-config' | 'key-allowlist' | 'json-merge';
export type FileStrategy = 'copy' | 'sqlite_backup';

export interface StateDirRule {
  /** A directory relative to the root, or, with prefix, every top-level dir whose name starts with it. */
  path: string;
  prefix: boolean;
  backup: boolean;
}

export interface StateFileRule {
  path: string;
  strategy: FileStrategy;
  merge?: MergeRule;
}

export interface MergeRule {
  kind: MergeKind;
  /** key-allowlist: dotted keys the snapshot may supply. */
  keys: string[];
  /** json-merge: dotted keys the live file owns. */
  protected: string[];
}

export interface ModuleDef {
  name: string;
  globs: string[];
  secret: boolean;
}

export interface AgentManifest {
  agent: string;
  version: 1;
  /** Where the manifest came from: `builtin:<kind>` or a file path. */
  source: string;
  rootDefault: string | undefined;
  capture: 'whole' | 'selective';
  stateDirs: StateDirRule[];
  stateFiles: StateFileRule[];
  modules: ModuleDef[];
  exclude: string[];
  /** Exceptions to `exclude`: paths kept although an exclude glob matches them (machine_local still wins). */
  excludeExcept: string[];
  machineLocal: string[];
  userManagedFiles: string[];
  /**
   * `managed_links` (synonym `allow_links`): globs of symlinks the agent manages itself. They may be
   * absolute or leave the root; they are recorded as links, never followed, and restored as the same link.
   */
  managedLinks: string[];
  /** Directory patterns whose `*` segment is an agent id, for --agent; `!glob` items name dirs that are not agents. */
  agentDirs: string[];
}

function isMergeKind(value: string): value is MergeKind {
  return value === 'openclaw-config' || value === 'key-allowlist' || value === 'json-merge';
}

const TOP_KEYS = new Set([
  'agent', 'version', 'root_default', 'capture', 'state_dirs', 'state_files', 'modules', 'exclude',
  'exclude_except', 'machine_local', 'user_managed_files', 'managed_links', 'allow_links', 'agent_dirs',
]);

class Reader {
  constructor(
    private readonly source: string,
    private readonly lines: LineCounter,
  ) {}

  fail(node: unknown, message: string): never {
    const offset = (node as YamlNode | undefined)?.range?.[0];
    const where = offset === undefined ? this.source : `${this.source}:${this.lines.linePos(offset).line}`;
    throw new ManifestError(`${where}: ${message}`, 'fix the manifest; see README "Agent manifests"');
  }

  string(node: unknown, what: string): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value.length === 0) this.fail(node, `${what} must be a non-empty string`);
    return node.value;
  }

  relPath(node: unknown, what: string): string {
    const value = this.string(node, what);
    const problem = foreignPathProblem(value.replace(/\/+$/, ''));
    if (problem) this.fail(node, `${what} ${JSON.stringify(value)} ${problem}`);
    return value.replace(/\/+$/, '');
  }

  glob(node: unknown, what: string): string {
    const value = this.string(node, what);
    if (value.includes('\0')) this.fail(node, `${what} ${JSON.stringify(value)} contains NUL`);
    if (value.includes('\\')) this.fail(node, `${what} ${JSON.stringify(value)} contains a backslash`);
    if (value.startsWith('/')) this.fail(node, `${what} ${JSON.stringify(value)} is absolute`);
    if (value.split('/').includes('..')) this.fail(node, `${what} ${JSON.stringify(value)} contains '..'`);
    return value;
  }

  globList(node: unknown, what: string): string[] {
    if (node === undefined || node === null) return [];
    if (!isSeq(node)) this.fail(node, `${what} must be a list`);
    return node.items.map((item) => this.glob(item, `${what} item`));
  }

  bool(node: unknown, what: string, fallback: boolean): boolean {
    if (node === undefined || node === null) return fallback;
    if (!isScalar(node) || typeof node.value !== 'boolean') this.fail(node, `${what} must be true or false`);
    return node.value;
  }
}

function mapGet(node: unknown, key: string): YamlNode | undefined {
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (isScalar(pair.key) && pair.key.value === key) return (pair.value ?? undefined) as YamlNode | undefined;
  }
  return undefined;
}

function mapKeys(r: Reader, node: unknown, allowed: Set<string>, what: string): void {
  if (!isMap(node)) r.fail(node, `${what} must be a mapping`);
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!allowed.has(key)) r.fail(pair.key, `unknown key ${JSON.stringify(key)} in ${what}`);
  }
}

function parseMerge(r: Reader, node: unknown): MergeRule | undefined {
  const restore = mapGet(node, 'restore');
  if (!restore) return undefined;
  mapKeys(r, restore, new Set(['merge', 'keys', 'protected']), 'restore');
  const kindNode = mapGet(restore, 'merge');
  const kind = r.string(kindNode, 'restore.merge');
  if (!isMergeKind(kind)) {
    r.fail(kindNode, `restore.merge must be openclaw-config, key-allowlist or json-merge, not ${JSON.stringify(kind)}`);
  }
  const keys = r.globList(mapGet(restore, 'keys'), 'restore.keys');
  if (kind === 'key-allowlist' && keys.length === 0) r.fail(restore, 'key-allowlist needs a non-empty keys list');
  return { kind, keys, protected: r.globList(mapGet(restore, 'protected'), 'restore.protected') };
}

/** Parse and validate an agent manifest. Fails closed with the file and line of the first problem. */
export function parseAgentManifest(text: string, source: string): AgentManifest {
  const { root, r } = parseRoot(text, source);
  const { agent, capture, rootDefault } = parseHeader(r, root);
  return {
    agent,
    version: 1,
    source,
    rootDefault,
    capture,
    stateDirs: listOf(r, mapGet(root, 'state_dirs'), 'state_dirs', parseStateDir),
    stateFiles: listOf(r, mapGet(root, 'state_files'), 'state_files', parseStateFile),
    modules: parseModules(r, mapGet(root, 'modules')),
    exclude: r.globList(mapGet(root, 'exclude'), 'exclude'),
    excludeExcept: r.globList(mapGet(root, 'exclude_except'), 'exclude_except'),
    machineLocal: r.globList(mapGet(root, 'machine_local'), 'machine_local'),
    userManagedFiles: r.globList(mapGet(root, 'user_managed_files'), 'user_managed_files'),
    // allow_links is the older name of managed_links; both are read, as one list.
    managedLinks: [...r.globList(mapGet(root, 'managed_links'), 'managed_links'), ...r.globList(mapGet(root, 'allow_links'), 'allow_links')],
    agentDirs: r.globList(mapGet(root, 'agent_dirs'), 'agent_dirs'),
  };
}

/** The YAML document's top mapping, with only known keys; YAML syntax errors come first. */
function parseRoot(text: string, source: string): { root: YamlNode; r: Reader } {
  const { LineCounter: Lines, parseDocument } = yaml();
  const lines: LineCounter = new Lines();
  const doc: Document = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const r: Reader = new Reader(source, lines);
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new ManifestError(`${source}${line ? `:${line}` : ''}: ${first.message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const root: unknown = doc.contents;
  if (!root || !isMap(root)) r.fail(root, 'a manifest must be a YAML mapping');
  mapKeys(r, root, TOP_KEYS, 'the manifest');
  return { root, r };
}

function parseHeader(r: Reader, root: YamlNode): Pick<AgentManifest, 'agent' | 'capture' | 'rootDefault'> {
  const agent = r.string(mapGet(root, 'agent'), 'agent');
  const versionNode = mapGet(root, 'version');
  if (!isScalar(versionNode) || versionNode.value !== 1) r.fail(versionNode ?? root, 'version must be 1');
  const captureNode = mapGet(root, 'capture');
  const capture = captureNode === undefined ? 'whole' : r.string(captureNode, 'capture');
  if (capture !== 'whole' && capture !== 'selective') r.fail(captureNode, `capture must be whole or selective, not ${JSON.stringify(capture)}`);
  const rootDefaultNode = mapGet(root, 'root_default');
  const rootDefault = rootDefaultNode === undefined ? undefined : r.string(rootDefaultNode, 'root_default');
  return { agent, capture, rootDefault };
}

/** An optional YAML list, each item read by `item`. */
function listOf<T>(r: Reader, node: YamlNode | undefined, what: string, item: (r: Reader, node: unknown) => T): T[] {
  if (node === undefined) return [];
  if (!isSeq(node)) r.fail(node, `${what} must be a list`);
  return node.items.map((child) => item(r, child));
}

/** `dir` or `{ path | prefix, backup }`. */
function parseStateDir(r: Reader, item: unknown): StateDirRule {
  if (isScalar(item)) return { path: r.relPath(item, 'state_dirs item'), prefix: false, backup: true };
  mapKeys(r, item, new Set(['path', 'prefix', 'backup']), 'state_dirs item');
  const prefixNode = mapGet(item, 'prefix');
  const pathNode = mapGet(item, 'path');
  if ((prefixNode === undefined) === (pathNode === undefined)) r.fail(item, 'a state_dirs item needs exactly one of path or prefix');
  const value = prefixNode !== undefined ? r.string(prefixNode, 'prefix') : r.relPath(pathNode, 'path');
  if (prefixNode !== undefined && !/^[A-Za-z0-9._-]+$/.test(value)) r.fail(prefixNode, 'prefix must match [A-Za-z0-9._-]+');
  return { path: value, prefix: prefixNode !== undefined, backup: r.bool(mapGet(item, 'backup'), 'backup', true) };
}

/** `file` or `{ path, strategy, restore }`. */
function parseStateFile(r: Reader, item: unknown): StateFileRule {
  if (isScalar(item)) return { path: r.relPath(item, 'state_files item'), strategy: 'copy' };
  mapKeys(r, item, new Set(['path', 'strategy', 'restore']), 'state_files item');
  const path = r.relPath(mapGet(item, 'path'), 'path');
  const strategyNode = mapGet(item, 'strategy');
  const strategy = strategyNode === undefined ? 'copy' : r.string(strategyNode, 'strategy');
  if (strategy !== 'copy' && strategy !== 'sqlite_backup') r.fail(strategyNode, `strategy must be copy or sqlite_backup, not ${JSON.stringify(strategy)}`);
  const merge = parseMerge(r, item);
  return merge ? { path, strategy, merge } : { path, strategy };
}

/** A mapping of module name to a glob list or `{ paths, secret }`. */
function parseModules(r: Reader, node: YamlNode | undefined): ModuleDef[] {
  if (node === undefined) return [];
  if (!isMap(node)) r.fail(node, 'modules must be a mapping of name to globs');
  return node.items.map((pair) => parseModule(r, pair.key, pair.value));
}

function parseModule(r: Reader, key: unknown, value: unknown): ModuleDef {
  const name = r.string(key, 'module name');
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) r.fail(key, `module name ${JSON.stringify(name)} must match [a-z][a-z0-9_-]*`);
  if (name === 'other') r.fail(key, '"other" is reserved for paths outside every module');
  if (isSeq(value)) return { name, globs: r.globList(value, `modules.${name}`), secret: false };
  mapKeys(r, value, new Set(['paths', 'secret']), `modules.${name}`);
  return {
    name,
    globs: r.globList(mapGet(value, 'paths'), `modules.${name}.paths`),
    secret: r.bool(mapGet(value, 'secret'), 'secret', false),
  };
}
