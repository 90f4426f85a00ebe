import fs from 'node:fs';
import path from 'node:path';
import { ClawbackError, IntegrityError, RefusedError } from '../../errors.js';
import { extractZipEntries, listZip, type ZipEntryInfo } from '../../formats/zip.js';
import { PAYLOAD_DIR, type BundleEntry, type BundleManifest, type BundleMount, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { backupDatabase } from '../../sqlite/backup.js';
import { companionBase, hasSqliteHeader } from '../../sqlite/detect.js';
import { threadReader } from '../../fs-safety/file-reader.js';
import type { ImportContext, StagedImport } from './types.js';
import { bundleFileMode } from '../bundle/file-mode.js';
import { completeManifest } from '../bundle/complete-manifest.js';
import { qwenPawSecretsDir, resolveMounts } from '../sandbox/layout.js';
import { Selection } from '../sandbox/selection.js';
import { layoutPlace, payloadPathOf } from '../qwenpaw/archive-layout.js';
import { META_FILE, parseQwenPawMeta, type QwenPawMeta } from '../qwenpaw/meta.js';

const MAX_META_BYTES = 1024 * 1024;
const LISTED_SKIPS = 5;

/**
 * Stages a QwenPaw backup zip as a bundle: meta.json read and checked first
 * (every entry already through the guard), then `data/...` extracted into
 * the partial bundle's payload at the same paths minus `data/`, every file
 * hashed, and every SQLite database (found by its header) copied through the
 * backup API into a self-contained file and quick_check'ed.
 */
export async function stageQwenPawZip(archive: string, context: ImportContext): Promise<StagedImport> {
  const { request, agentManifest, deps } = context;
  const limits = request.limits ? { limits: request.limits } : {};
  const metaDir = path.join(context.scratch, 'meta');
  await extractZipEntries(archive, metaDir, (name) => (name === META_FILE ? META_FILE : null), limits);
  const meta = readMeta(path.join(metaDir, META_FILE), request.file);
  if (agentManifest.agent !== 'qwenpaw') {
    throw new RefusedError('agent-mismatch', `${request.file} is a QwenPaw backup; ${request.sandbox} is registered as ${agentManifest.agent}`, {
      hint: 'import it into a sandbox registered with --agent qwenpaw',
    });
  }
  const created = Date.parse(meta.created_at);
  const plan = context.plan('qwenpawId', meta.id, meta.name, Number.isNaN(created) ? deps.now() : new Date(created));

  const infos = new Map<string, ZipEntryInfo>();
  const dirs = new Set<string>();
  for (const info of await listZip(archive)) {
    infos.set(info.name, info);
    if (info.isDirectory) dirs.add(info.name.replace(/\/+$/, ''));
  }
  const ignored: string[] = [];
  deps.events.phase?.('import');
  await extractZipEntries(
    archive,
    plan.partialDir,
    (name) => {
      if (name === META_FILE) return null;
      const rel = payloadPathOf(name);
      if (rel === undefined) {
        if (!dirs.has(name)) ignored.push(name);
        return null;
      }
      return `${PAYLOAD_DIR}/${rel}`;
    },
    limits,
  );
  const payload = path.join(plan.partialDir, PAYLOAD_DIR);
  fs.mkdirSync(payload, { recursive: true, mode: 0o700 });

  const mounts = bundleMounts(context, payload);
  const selection = new Selection(agentManifest, mounts, {});
  const built = await buildEntries(payload, infos, selection, request.file);
  const skipped: SkippedEntry[] = [
    ...ignored.map((name) => ({ path: name, reason: 'outside the QwenPaw backup layout' })),
    ...built.companions.map((p) => ({ path: p, reason: 'sqlite companion (merged into its database through the backup API)' })),
    ...built.excluded.map((p) => ({ path: p, reason: 'excluded' })),
  ];
  const warnings: string[] = [];
  if (ignored.length > 0) {
    warnings.push(`${ignored.length} entr${ignored.length === 1 ? 'y' : 'ies'} outside QwenPaw's layout ignored: ${ignored.slice(0, LISTED_SKIPS).join(', ')}${ignored.length > LISTED_SKIPS ? ', ...' : ''}`);
  }
  const manifest = bundleManifest(context, meta, plan.timestamp, plan.label, mounts, built.entries, skipped);
  return { plan, manifest, format: 'qwenpaw-zip', databases: built.databases, skipped: skipped.length, warnings };
}

function readMeta(file: string, archive: string): QwenPawMeta {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) {
    throw new IntegrityError('not-qwenpaw-backup', `${archive} has no meta.json: it is not a QwenPaw backup`, { hint: 'clawback imports QwenPaw backup zips and its own tar/tar.gz exports' });
  }
  if (stat.size > MAX_META_BYTES) throw new IntegrityError('invalid-qwenpaw-meta', `${archive}: meta.json is ${stat.size} bytes; that is not a QwenPaw backup's metadata`);
  return parseQwenPawMeta(fs.readFileSync(file, 'utf8'), archive);
}

/** '' at the working dir, one mount per agent found in the archive, and the secrets dir: where each would go on this host. */
function bundleMounts(context: ImportContext, payload: string): BundleMount[] {
  const current = new Map(resolveMounts(context.entry, context.agentManifest, context.deps.host.homeDir).map((m) => [m.prefix, m.dir]));
  const root = path.resolve(context.entry.root);
  const mounts: BundleMount[] = [{ prefix: '', dir: root }];
  const workspaces = path.join(payload, 'workspaces');
  const agents = fs.existsSync(workspaces) ? fs.readdirSync(workspaces).filter((id) => layoutPlace(`workspaces/${id}/x`) !== undefined).sort() : [];
  for (const id of agents) {
    const prefix = `workspaces/${id}`;
    mounts.push({ prefix, dir: current.get(prefix) ?? path.join(root, 'workspaces', id), module: 'workspaces', agent: id });
  }
  if (fs.existsSync(path.join(payload, 'secrets'))) mounts.push({ prefix: 'secrets', dir: path.resolve(qwenPawSecretsDir(context.entry)), module: 'secrets' });
  return mounts;
}

interface BuiltEntries {
  entries: BundleEntry[];
  databases: string[];
  companions: string[];
  /** Paths the qwenpaw manifest excludes (browser caches): removed, as a snapshot would not have taken them. */
  excluded: string[];
}

async function buildEntries(payload: string, infos: Map<string, ZipEntryInfo>, selection: Selection, archive: string): Promise<BuiltEntries> {
  const found: Array<{ rel: string; type: 'dir' | 'file' }> = [];
  const excluded: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const dirent of fs.readdirSync(dir, { withFileTypes: true })) {
      const childRel = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      const kind = selection.classify(childRel, dirent.isDirectory()).kind;
      if (kind === 'excluded' || kind === 'machine_local') {
        fs.rmSync(`${dir}/${dirent.name}`, { recursive: true, force: true });
        excluded.push(childRel);
        continue;
      }
      // Extraction writes only directories and regular files.
      if (dirent.isDirectory()) {
        found.push({ rel: childRel, type: 'dir' });
        walk(`${dir}/${dirent.name}`, childRel);
      } else found.push({ rel: childRel, type: 'file' });
    }
  };
  walk(payload, '');
  const files = new Set(found.filter((f) => f.type === 'file').map((f) => f.rel));
  const databases = found.filter((f) => f.type === 'file' && isSqlite(`${payload}/${f.rel}`)).map((f) => f.rel);
  const databaseSet = new Set(databases);
  const companions = [...files].filter((rel) => {
    const base = companionBase(rel);
    return base !== undefined && databaseSet.has(base);
  });
  const companionSet = new Set(companions);
  // Before the databases are copied: SQLite reads a -wal beside the file as part of it.
  const journalModes = new Map<string, string>();
  for (const rel of databases) journalModes.set(rel, await selfContained(payload, rel, archive));
  for (const rel of companions) fs.rmSync(`${payload}/${rel}`, { force: true });

  const entries: BundleEntry[] = [];
  for (const { rel, type } of found) {
    if (companionSet.has(rel)) continue;
    const { module, agent } = selection.moduleOf(rel, type === 'dir');
    const secret = selection.isSecretModule(module);
    const base: BundleEntry = { path: rel, type, module };
    if (agent !== undefined) base.agent = agent;
    if (type === 'dir') {
      entries.push({ ...base, mode: secret ? 0o700 : 0o755 });
      continue;
    }
    const info = infos.get(`data/${rel}`);
    const mode = secret ? 0o600 : (info?.mode ?? 0o644) & 0o7777;
    const file = `${payload}/${rel}`;
    fs.chmodSync(file, bundleFileMode(mode));
    const { sha256, size } = threadReader().hashFile(file);
    const entry: BundleEntry = { ...base, mode, size, sha256 };
    if (info) entry.mtimeMs = info.mtime.getTime();
    const journalMode = journalModes.get(rel);
    if (journalMode !== undefined) Object.assign(entry, { strategy: 'sqlite_backup', journalMode });
    entries.push(entry);
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, databases, companions, excluded };
}

function isSqlite(file: string): boolean {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const head = Buffer.alloc(16);
    return fs.readSync(fd, head, 0, 16, 0) === 16 && hasSqliteHeader(head);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces an extracted database with a copy made through SQLite's backup
 * API (its -wal merged in, rollback journal, quick_check'ed), as a snapshot
 * would have captured it. Returns the journal mode the archive's copy used.
 */
async function selfContained(payload: string, rel: string, archive: string): Promise<string> {
  const file = `${payload}/${rel}`;
  const copy = `${file}.clawback-import`;
  try {
    const { journalMode } = await backupDatabase(file, copy, rel);
    fs.renameSync(copy, file);
    return journalMode;
  } catch (error) {
    fs.rmSync(copy, { force: true });
    if (error instanceof ClawbackError) throw error;
    throw new IntegrityError('sqlite-unreadable', `${archive}: ${rel} has the SQLite header but SQLite cannot read it (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}

function bundleManifest(
  context: ImportContext,
  meta: QwenPawMeta,
  timestamp: string,
  label: string | null,
  mounts: BundleMount[],
  entries: BundleEntry[],
  skipped: SkippedEntry[],
): BundleManifest {
  const { request, deps, entry: sandbox, agentManifest } = context;
  const files = entries.filter((e) => e.type === 'file');
  const scope = meta.scope;
  const modules = [
    ...(scope.include_agents ? ['workspaces'] : []),
    ...(scope.include_global_config ? ['config'] : []),
    ...(scope.include_skill_pool ? ['skill_pool'] : []),
    ...(scope.include_secrets ? ['secrets'] : []),
  ];
  const full = modules.length === 4;
  const agents = mounts.flatMap((m) => (m.agent !== undefined ? [m.agent] : []));
  const hasSecrets = entries.some((e) => e.module === 'secrets' && e.type === 'file');
  const origin: Record<string, string> = {
    qwenpawId: meta.id,
    qwenpawName: meta.name,
    qwenpawDescription: meta.description,
    importedFrom: path.basename(request.file),
  };
  if (meta.created_at !== '') origin.qwenpawCreatedAt = meta.created_at;
  if (meta.signature !== null) origin.qwenpawSignature = meta.signature;
  const version = meta.qwenpaw_version;
  return completeManifest({
    tool: { name: 'clawback', version: deps.toolVersion },
    sandboxName: request.sandbox,
    timestamp,
    name: label,
    agentType: 'qwenpaw',
    agentVersion: version !== '' && version !== 'unknown' ? version : null,
    capture: agentManifest.capture,
    stateDirs: agentManifest.stateDirs.map((d) => (d.prefix ? `${d.path}*` : d.path)),
    backedUpDirs: entries.filter((e) => e.type === 'dir' && !e.path.includes('/')).map((e) => e.path),
    failedBackupDirs: [],
    stateFiles: files.filter((e) => e.strategy === 'sqlite_backup' || e.path === 'config.json').map((e) => ({ path: e.path, strategy: e.strategy ?? 'copy' })),
    includesSecrets: hasSecrets,
    policyPresets: sandbox.policyPresets,
    customPolicies: sandbox.customPolicies,
    backupComplete: true,
    scope: { full, modules, agents: full ? null : agents, includesSecrets: scope.include_secrets || hasSecrets, excludes: [] },
    mounts,
    origin,
    entries,
    skipped,
  });
}
