import { createHash } from 'node:crypto';
import { IntegrityError, MalformedManifestError, UnsafeEntryPathError, UnsupportedBundleError } from '../errors.js';
import { checkEntryList, relativePathProblem } from '../fs-safety/safe-path.js';
import { isRecord } from '../records.js';
import { INVENTORY_FILE, type InventoryRef } from './inventory.js';

export const BUNDLE_FORMAT = 'clawback-bundle/1';
export const BUNDLE_VERSION = 1;
export const MANIFEST_FILE = 'rebuild-manifest.json';
export const PAYLOAD_DIR = 'payload';

export type EntryType = 'file' | 'dir' | 'symlink';

export interface BundleEntry {
  path: string;
  type: EntryType;
  mode?: number;
  size?: number;
  mtimeMs?: number;
  sha256?: string;
  strategy?: 'copy' | 'sqlite_backup';
  /** The live database's journal mode, put back on restore (the bundle copy is always a rollback-journal file). */
  journalMode?: string;
  /** The live -wal's size and mtime at capture (-1 when there was none): with the main file's, they tell an unchanged database. */
  walSize?: number;
  walMtimeMs?: number;
  /** The live database file's size at capture (the copy's `size` differs). */
  sourceSize?: number;
  /** The bundle's copy has holes where the source had them (all-zero blocks); a restore leaves them as holes too. */
  sparse?: true;
  target?: string;
  module: string;
  agent?: string;
  /** Source identity at capture time; lets the next snapshot hard-link an unchanged file. */
  dev?: number;
  ino?: number;
}

export interface SkippedEntry {
  path: string;
  reason: string;
}

/** Where a payload prefix lives on the host; '' is the state root. */
export interface BundleMount {
  prefix: string;
  dir: string;
  module?: string;
  agent?: string;
}

/** A custom policy registered with a sandbox (name and text), carried in its bundles so a restore can put it back. */
export interface CustomPolicy {
  name: string;
  content: string;
}

/**
 * The SQLite databases a snapshot found (by header) in its captured set, and what became of them:
 * `captured` through the backup API, `degraded` ones are in the bundle's `degraded` list (raw bytes),
 * `missing` ones are not in the bundle at all (e.g. locked by another process). Absent in older bundles.
 */
export interface DatabaseRecord {
  expected: string[];
  captured: string[];
  missing: SkippedEntry[];
}

/** A database copy that passed quick_check, by the sha256 of its bytes then: one that still hashes to it is that very copy. */
export interface QuickCheckedCopy {
  path: string;
  sha256: string;
}

export interface BundleScope {
  full: boolean;
  modules: string[];
  agents: string[] | null;
  includesSecrets: boolean;
  excludes: string[];
  /** The bundle holds only these paths and what lies below them (a NemoClaw bundle): restore and diff leave everything else alone. */
  paths?: string[];
}

/** What a NemoClaw bundle (format nemoclaw-v1) says that clawback's own bundles do not. */
export interface NemoClawFields {
  dir: string | null;
  backupPath: string | null;
  blueprintDigest: string | null;
  expectedVersion: string | null;
}

export interface BundleManifest {
  version: number;
  format: string;
  tool: { name: string; version: string };
  sandboxName: string;
  timestamp: string;
  name: string | null;
  agentType: string;
  agentVersion: string | null;
  capture: 'whole' | 'selective';
  stateDirs: string[];
  backedUpDirs: string[];
  failedBackupDirs: string[];
  /**
   * Files captured, but not the way their kind asks: e.g. a file with the SQLite header that SQLite
   * could not read, captured as its raw bytes. Written only when there are any (the bundle is then partial).
   */
  degraded?: SkippedEntry[];
  stateFiles: Array<{ path: string; strategy: string }>;
  /** Modules that hold at least one captured path. */
  modules: string[];
  /** Modules the snapshot's scope asked for (absent in older bundles): those not in `modules` had nothing to capture. */
  modulesExpected?: string[];
  databases?: DatabaseRecord;
  /** The database copies that passed quick_check when written (or linked from a bundle that says so); absent in older bundles. */
  quickCheckedDatabases?: QuickCheckedCopy[];
  includesSecrets: boolean;
  policyPresets: string[];
  customPolicies: CustomPolicy[];
  backupComplete: boolean;
  scope: BundleScope;
  mounts: BundleMount[];
  /** Free-form origin data, e.g. the QwenPaw archive id an import came from. */
  origin?: Record<string, string>;
  /** Set on a NemoClaw bundle read in place (format nemoclaw-v1); never written. */
  nemoclaw?: NemoClawFields;
  /** Where the inventory is (bundles written since the inventory moved out of this file); absent when `entries` are inline. */
  inventory?: InventoryRef;
  entries: BundleEntry[];
  skipped: SkippedEntry[];
  totals: { files: number; bytes: number };
  contentSha256: string;
}

/** Everything but the inventory: what listing and selectors need, readable without parsing every entry. */
export type BundleHeader = Omit<BundleManifest, 'entries' | 'skipped' | 'contentSha256'> & {
  /** Read with the header where the inventory is a sidecar (it then sits at the header's end). */
  contentSha256?: string;
};

/** The key that separates the header from the inventory in a serialised manifest. */
const ENTRIES_MARKER = '\n "entries": [';

/**
 * The identity fields of an entry, NUL-separated: no path, link target, module or agent can hold a
 * NUL (the parser refuses them), so the line is unambiguous — and far cheaper than JSON per entry.
 */
function canonicalEntry(entry: BundleEntry): string {
  return `${entry.path}\0${entry.type}\0${entry.mode ?? ''}\0${entry.size ?? ''}\0${entry.sha256 ?? ''}\0${entry.target ?? ''}\0${entry.module}\0${entry.agent ?? ''}\0${entry.strategy ?? ''}`;
}

/** sha256 over the sorted entries' identity fields: detects any edit of the inventory. */
export function contentSha256(entries: readonly BundleEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = new ContentHash();
  for (const entry of sorted) hash.add(entry);
  return hash.digest();
}

/**
 * contentSha256 fed one entry at a time, in path order (the order every inventory keeps):
 * lines are batched so the digest costs few native calls, and nothing holds them all.
 */
export class ContentHash {
  private readonly hash = createHash('sha256');
  private pending = '';

  add(entry: BundleEntry): void {
    this.pending += canonicalEntry(entry) + '\n';
    if (this.pending.length > 64 * 1024) {
      this.hash.update(this.pending);
      this.pending = '';
    }
  }

  digest(): string {
    return this.hash.update(this.pending).digest('hex');
  }
}


function fail(file: string, what: string): never {
  throw new MalformedManifestError(`${file}: ${what}`);
}

/**
 * Validates one inventory entry in place and returns the parsed object itself:
 * a second object per entry doubled the memory of reading a 40,000-entry
 * manifest. Wrong-typed optional fields are dropped; wrong required ones fail.
 */
export function parseEntry(raw: unknown, index: number, file: string): BundleEntry {
  if (!isRecord(raw)) fail(file, `entry ${index} is not an object`);
  const { path, type } = raw;
  if (typeof path !== 'string') fail(file, `entry ${index} has no path`);
  if (type !== 'file' && type !== 'dir' && type !== 'symlink') fail(file, `entry ${path} has an unknown type`);
  if (typeof raw.module !== 'string') raw.module = 'other';
  for (const key of ['mode', 'size', 'mtimeMs', 'dev', 'ino'] as const) {
    const value = raw[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) fail(file, `entry ${path}: ${key} is not a number`);
  }
  if (type === 'file') {
    if (typeof raw.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.sha256)) fail(file, `entry ${path} has no valid sha256`);
    if (raw.size === undefined) fail(file, `entry ${path} has no size`);
    if (raw.strategy !== undefined && raw.strategy !== 'sqlite_backup' && raw.strategy !== 'copy') delete raw.strategy;
    if (raw.journalMode !== undefined && typeof raw.journalMode !== 'string') delete raw.journalMode;
    for (const key of ['walSize', 'walMtimeMs', 'sourceSize'] as const) if (raw[key] !== undefined && typeof raw[key] !== 'number') delete raw[key];
    if (raw.sparse !== undefined && raw.sparse !== true) delete raw.sparse;
  }
  if (type === 'symlink' && (typeof raw.target !== 'string' || raw.target.length === 0)) fail(file, `symlink entry ${path} has no target`);
  for (const key of ['target', 'module', 'agent'] as const) {
    const value = raw[key];
    if (typeof value === 'string' && value.includes('\0')) fail(file, `entry ${path}: ${key} contains NUL`);
  }
  if (raw.agent !== undefined && typeof raw.agent !== 'string') delete raw.agent;
  return raw as unknown as BundleEntry;
}

export function pathReasons(raw: unknown[]): SkippedEntry[] {
  return raw.filter(isRecord).map((s) => ({ path: String(s.path), reason: String(s.reason) }));
}

function stringArray(raw: unknown): string[] {
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Parse a manifest, failing closed with three distinct errors: a newer version
 * (UnsupportedBundleError), a malformed document (MalformedManifestError), and
 * entry paths that are not normalised relative POSIX paths (UnsafeEntryPathError).
 */
export function parseBundleManifest(text: string, file: string): BundleManifest {
  const raw = parseJsonObject(text, file);
  const header = headerFields(raw, file);
  if (!Array.isArray(raw.entries)) fail(file, 'entries missing');
  const entries = raw.entries.map((e, i) => parseEntry(e, i, file));
  const problem = checkEntryList(entries);
  if (problem) throw new UnsafeEntryPathError(`${file}: ${problem}`);
  return {
    ...header,
    entries,
    skipped: Array.isArray(raw.skipped)
      ? pathReasons(raw.skipped)
      : [],
    contentSha256: typeof raw.contentSha256 === 'string' ? raw.contentSha256 : '',
  };
}

/**
 * Parse only the header of a manifest written by serializeBundleManifest (the
 * inventory comes last), so listing 500 bundles does not parse 500 inventories.
 * Falls back to the whole document for manifests written otherwise.
 */
export function parseBundleHeader(text: string, file: string): BundleHeader {
  const cut = text.indexOf(ENTRIES_MARKER);
  if (cut < 0) {
    const raw = parseJsonObject(text, file);
    const header = headerFields(raw, file);
    if (isRecord(raw.inventory)) {
      header.inventory = inventoryRef(raw.inventory, file);
      if (typeof raw.contentSha256 !== 'string') fail(file, 'contentSha256 missing');
      header.contentSha256 = raw.contentSha256;
    } else if (!Array.isArray(raw.entries)) fail(file, 'entries missing');
    return header;
  }
  if (cut > 0 && text[cut - 1] === ',') return headerFields(parseJsonObject(text.slice(0, cut - 1) + '\n}', file), file);
  return headerFields(parseJsonObject(text, file), file);
}

/** Only well-formed records count: anything else means verify quick_checks that copy as it always did. */
function quickCheckedCopies(raw: unknown[]): QuickCheckedCopy[] {
  return raw.filter(isRecord).flatMap((c) => (typeof c.path === 'string' && typeof c.sha256 === 'string' && /^[0-9a-f]{64}$/.test(c.sha256) ? [{ path: c.path, sha256: c.sha256 }] : []));
}

/** A bundle's covered paths are entry paths too: normalised and relative, or the bundle is refused. */
function coveredPaths(raw: unknown[], file: string): string[] {
  return raw.map((p) => {
    const problem = typeof p === 'string' ? relativePathProblem(p) : 'is not a string';
    if (problem) throw new UnsafeEntryPathError(`${file}: scope path ${JSON.stringify(p)} ${problem}`);
    return p as string;
  });
}

function inventoryRef(raw: Record<string, unknown>, file: string): InventoryRef {
  // Only the one name: a header must not point a reader anywhere else.
  if (raw.file !== INVENTORY_FILE) fail(file, `inventory file ${JSON.stringify(raw.file)} is not ${INVENTORY_FILE}`);
  const count = (key: string): number => {
    const value = raw[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(file, `inventory ${key} is not a count`);
    return value;
  };
  if (typeof raw.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.sha256)) fail(file, 'inventory sha256 is not a sha256');
  return { file: INVENTORY_FILE, entries: count('entries'), skipped: count('skipped'), sha256: raw.sha256 };
}

function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail(file, `not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(raw)) fail(file, 'not a JSON object');
  return raw;
}

function headerFields(raw: Record<string, unknown>, file: string): BundleHeader {
  if (typeof raw.version !== 'number') fail(file, 'no version');
  if (raw.version > BUNDLE_VERSION) throw new UnsupportedBundleError(`${file}: bundle version ${raw.version} is newer than this clawback supports (${BUNDLE_VERSION})`);
  if (raw.format !== undefined && raw.format !== BUNDLE_FORMAT) throw new UnsupportedBundleError(`${file}: unknown format ${JSON.stringify(raw.format)}`);
  if (typeof raw.sandboxName !== 'string' || typeof raw.timestamp !== 'string') fail(file, 'sandboxName or timestamp missing');
  const scopeRaw = isRecord(raw.scope) ? raw.scope : {};
  const mounts: BundleMount[] = Array.isArray(raw.mounts)
    ? raw.mounts.filter(isRecord).map((m) => {
        const mount: BundleMount = { prefix: typeof m.prefix === 'string' ? m.prefix : '', dir: typeof m.dir === 'string' ? m.dir : '' };
        if (typeof m.module === 'string') mount.module = m.module;
        if (typeof m.agent === 'string') mount.agent = m.agent;
        return mount;
      })
    : [];
  const totals = isRecord(raw.totals) ? raw.totals : {};
  const header: BundleHeader = {
    version: raw.version,
    format: BUNDLE_FORMAT,
    tool: isRecord(raw.tool) ? { name: String(raw.tool.name), version: String(raw.tool.version) } : { name: 'unknown', version: '0' },
    sandboxName: raw.sandboxName,
    timestamp: raw.timestamp,
    name: typeof raw.name === 'string' ? raw.name : null,
    agentType: typeof raw.agentType === 'string' ? raw.agentType : 'unknown',
    agentVersion: typeof raw.agentVersion === 'string' ? raw.agentVersion : null,
    capture: raw.capture === 'selective' ? 'selective' : 'whole',
    stateDirs: stringArray(raw.stateDirs),
    backedUpDirs: stringArray(raw.backedUpDirs),
    failedBackupDirs: stringArray(raw.failedBackupDirs),
    stateFiles: Array.isArray(raw.stateFiles)
      ? raw.stateFiles.filter(isRecord).map((f) => ({ path: String(f.path), strategy: String(f.strategy) }))
      : [],
    modules: stringArray(raw.modules),
    includesSecrets: raw.includesSecrets === true,
    policyPresets: stringArray(raw.policyPresets),
    customPolicies: Array.isArray(raw.customPolicies)
      ? raw.customPolicies.filter(isRecord).map((p) => ({ name: String(p.name), content: String(p.content) }))
      : [],
    backupComplete: raw.backupComplete === true,
    scope: {
      full: scopeRaw.full !== false,
      modules: stringArray(scopeRaw.modules),
      agents: Array.isArray(scopeRaw.agents) ? stringArray(scopeRaw.agents) : null,
      includesSecrets: scopeRaw.includesSecrets !== false,
      excludes: stringArray(scopeRaw.excludes),
      ...(Array.isArray(scopeRaw.paths) ? { paths: coveredPaths(scopeRaw.paths, file) } : {}),
    },
    mounts,
    totals: { files: Number(totals.files ?? 0), bytes: Number(totals.bytes ?? 0) },
  };
  if (Array.isArray(raw.degraded) && raw.degraded.length > 0) header.degraded = pathReasons(raw.degraded);
  if (Array.isArray(raw.modulesExpected)) header.modulesExpected = stringArray(raw.modulesExpected);
  if (isRecord(raw.databases)) {
    const db = raw.databases;
    header.databases = { expected: stringArray(db.expected), captured: stringArray(db.captured), missing: Array.isArray(db.missing) ? pathReasons(db.missing) : [] };
  }
  if (Array.isArray(raw.quickCheckedDatabases)) header.quickCheckedDatabases = quickCheckedCopies(raw.quickCheckedDatabases);
  if (isRecord(raw.origin)) {
    header.origin = Object.fromEntries(Object.entries(raw.origin).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
  }
  return header;
}

/** The inventory checksum must match the entries; anything else means the manifest was edited or damaged. */
export function assertContentChecksum(manifest: BundleManifest, file: string): void {
  // A sidecar inventory was checked against it entry by entry as it was read.
  if (manifest.inventory !== undefined) return;
  const actual = contentSha256(manifest.entries);
  if (actual !== manifest.contentSha256) {
    throw new IntegrityError('manifest-checksum', `${file}: contentSha256 does not match the entries`, {
      hint: 'the manifest was edited or damaged; choose another bundle',
    });
  }
}

/**
 * The header of a bundle whose inventory is a sidecar: every field but the entries, then where
 * the inventory is and the checksum over its entries.
 */
export function serializeBundleHeader(header: BundleHeader, inventory: InventoryRef, checksum: string): string {
  const { inventory: _old, contentSha256: _sum, ...fields } = header;
  return JSON.stringify({ ...fields, inventory, contentSha256: checksum }, null, 1) + '\n';
}

/** Header first, inventory last, one entry per line: readable, and the header can be parsed alone (the form written before the sidecar, still read; export-zip and tests use it). */
export function serializeBundleManifest(manifest: BundleManifest): string {
  const { entries, skipped, contentSha256: checksum, inventory: _ref, ...header } = manifest;
  const head = JSON.stringify(header, null, 1).replace(/\n}$/, '');
  const list = (items: readonly unknown[]): string => (items.length === 0 ? '[]' : `[\n${items.map((item) => '  ' + JSON.stringify(item)).join(',\n')}\n ]`);
  return `${head},\n "entries": ${list(entries)},\n "skipped": ${list(skipped)},\n "contentSha256": ${JSON.stringify(checksum)}\n}\n`;
}
