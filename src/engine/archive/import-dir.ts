import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError, RefusedError } from '../../errors.js';
import { fsPath } from '../../fs-safety/fs-path.js';
import { threadReader } from '../../fs-safety/file-reader.js';
import { MANIFEST_FILE, PAYLOAD_DIR, type BundleEntry, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { isNemoClawManifest, NEMOCLAW_VERSION, parseNemoClawManifest, type NemoClawManifest } from '../../manifest/nemoclaw-manifest.js';
import { isRecord } from '../../records.js';
import { backupDatabase, privateCopy, removeCopy } from '../../sqlite/backup.js';
import { parseBundleTimestamp } from '../../store/home.js';
import { completeManifest } from '../bundle/complete-manifest.js';
import { bundleFileMode } from '../bundle/file-mode.js';
import { walkNemoClawBundle } from '../bundle/nemoclaw.js';
import { Selection } from '../sandbox/selection.js';
import { resolveMounts } from '../sandbox/layout.js';
import type { ImportContext, StagedImport } from './types.js';

/** The workspace files scripts/backup-workspace.sh copied from /sandbox/.openclaw/workspace (and its memory/ dir). */
const SCRIPT_WORKSPACE_FILES = ['SOUL.md', 'USER.md', 'IDENTITY.md', 'AGENTS.md', 'MEMORY.md', 'WIKI.md'];
/** Its data dirs, from /sandbox/.openclaw-data, which OpenClaw's images link into /sandbox/.openclaw. */
const SCRIPT_DATA_DIR = /^(wiki|wiki-raw|workspace-.+|wiki-.+|wiki-raw-.+)$/;
const SCRIPT_STAMP = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/;

/** What a source dir holds, read as a NemoClaw manifest and where each of its paths goes in the state root. */
interface DirSource {
  format: 'nemoclaw-v1' | 'nemoclaw-backup-dir';
  manifest: NemoClawManifest;
  /** Source path (relative to the dir) → payload path. */
  place: (rel: string) => string;
  id: string;
  time: Date | undefined;
  skipped: SkippedEntry[];
}

/**
 * Imports a directory NemoClaw left: one of its rebuild bundles (format nemoclaw-v1, from another
 * machine or sandbox) or an old `~/.nemoclaw/backups/<timestamp>/` from scripts/backup-workspace.sh.
 * It becomes a normal clawback bundle (hashes, SQLite as clean backup-API copies) covering only the
 * paths it holds. The source is only read; SQLite never opens a file in it.
 */
export async function stageNemoClawDir(dir: string, context: ImportContext): Promise<StagedImport> {
  const source = readSource(dir, context);
  if (source.manifest.agentType !== context.agentManifest.agent) {
    throw new RefusedError('agent-mismatch', `${dir} holds a ${source.manifest.agentType} home; ${context.request.sandbox} is registered as ${context.agentManifest.agent}`, {
      hint: `import it into a sandbox registered with --agent ${source.manifest.agentType}`,
    });
  }
  const selection = new Selection(context.agentManifest, resolveMounts(context.entry, context.agentManifest, context.deps.host.homeDir), {});
  const tree = walkNemoClawBundle(dir, source.manifest, { hash: true });
  if (tree.problems.length > 0) {
    throw new RefusedError('unsafe-content', `${dir} holds ${tree.problems.length} path(s) clawback will not import`, {
      hint: 'nothing was imported',
      details: tree.problems.slice(0, 20).map((p) => `${p.path}: ${p.problem}`),
    });
  }
  const plan = context.plan('clawbackId', source.id, source.manifest.name, source.time ?? context.deps.now());
  const payload = path.join(plan.partialDir, PAYLOAD_DIR);
  fs.mkdirSync(payload, { recursive: true, mode: 0o700 });
  const entries: BundleEntry[] = [];
  for (const found of tree.entries) {
    const rel = source.place(found.path);
    const placed = selection.moduleOf(rel);
    const entry: BundleEntry = { ...found, path: rel, module: placed.module, ...(placed.agent !== undefined ? { agent: placed.agent } : {}) };
    entries.push(await copyEntry(path.join(dir, found.path), payload, entry, path.join(context.scratch, `db-${entries.length}`)));
  }
  const implied = impliedDirs(entries, selection);
  const m = source.manifest;
  const manifest = completeManifest({
    tool: { name: 'clawback', version: context.deps.toolVersion },
    sandboxName: context.request.sandbox,
    timestamp: plan.timestamp,
    name: plan.label,
    agentType: m.agentType,
    agentVersion: m.agentVersion,
    capture: 'selective',
    stateDirs: m.stateDirs.map(source.place),
    backedUpDirs: (m.backedUpDirs ?? m.stateDirs).map(source.place),
    failedBackupDirs: [],
    stateFiles: m.stateFiles.map((f) => ({ path: source.place(f.path), strategy: f.strategy })),
    includesSecrets: false,
    policyPresets: m.policyPresets,
    customPolicies: m.customPolicies,
    backupComplete: true,
    scope: { full: true, modules: [], agents: null, includesSecrets: false, excludes: [], paths: [...m.stateDirs, ...m.stateFiles.map((f) => f.path)].map(source.place) },
    mounts: [],
    origin: { clawbackId: source.id, importedFrom: path.basename(dir), format: source.format },
    entries: [...implied, ...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    skipped: [...source.skipped, ...tree.skipped.map((s) => ({ ...s, path: source.place(s.path) }))],
  });
  const databases = manifest.entries.filter((e) => e.strategy === 'sqlite_backup').map((e) => e.path);
  return { plan, manifest, format: source.format, databases, skipped: source.skipped.length + tree.skipped.length, warnings: [] };
}

function readSource(dir: string, context: ImportContext): DirSource {
  const manifestFile = path.join(dir, MANIFEST_FILE);
  if (fs.existsSync(manifestFile)) return rebuildBundle(dir, manifestFile);
  return scriptBackup(dir, context);
}

function rebuildBundle(dir: string, file: string): DirSource {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new IntegrityError('malformed-manifest', `${file}: not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(raw) || !isNemoClawManifest(raw)) {
    throw new IntegrityError('unsupported-archive', `${dir} is not a NemoClaw bundle`, { hint: 'import a clawback bundle from its export (`snapshot export`), not its directory' });
  }
  const manifest = parseNemoClawManifest(raw, file);
  if (!manifest.backupComplete) throw new IntegrityError('bundle-incomplete', `${dir}: NemoClaw never finished this bundle (backupComplete is false)`);
  return { format: 'nemoclaw-v1', manifest, place: (rel) => rel, id: `nemoclaw:${manifest.sandboxName}@${manifest.timestamp}`, time: parseBundleTimestamp(manifest.timestamp), skipped: [] };
}

/** scripts/backup-workspace.sh: workspace files at the top, `memory/` from the workspace, data dirs beside them. */
function scriptBackup(dir: string, context: ImportContext): DirSource {
  const names = fs.readdirSync(dir);
  const files = names.filter((n) => SCRIPT_WORKSPACE_FILES.includes(n));
  const dataDirs = names.filter((n) => SCRIPT_DATA_DIR.test(n));
  const dirs = [...(names.includes('memory') ? ['memory'] : []), ...dataDirs];
  if (files.length + dirs.length === 0) {
    throw new IntegrityError('unsupported-archive', `${dir} is neither a NemoClaw bundle (no ${MANIFEST_FILE}) nor a backup-workspace.sh backup (no SOUL.md, MEMORY.md, memory/, ...)`);
  }
  const skipped = names.filter((n) => !files.includes(n) && !dirs.includes(n)).map((n) => ({ path: n, reason: 'not written by backup-workspace.sh; not imported' }));
  const stamp = path.basename(dir);
  const manifest: NemoClawManifest = {
    version: NEMOCLAW_VERSION,
    sandboxName: context.request.sandbox,
    timestamp: stamp,
    agentType: 'openclaw',
    agentVersion: null,
    expectedVersion: null,
    stateDirs: dirs,
    backedUpDirs: dirs,
    failedBackupDirs: [],
    stateFiles: files.map((f) => ({ path: f, strategy: 'copy' })),
    dir: '/sandbox/.openclaw',
    backupPath: null,
    blueprintDigest: null,
    policyPresets: [],
    customPolicies: [],
    name: null,
    backupComplete: true,
  };
  const place = (rel: string): string => (SCRIPT_DATA_DIR.test(rel.split('/')[0]!) ? rel : `workspace/${rel}`);
  return { format: 'nemoclaw-backup-dir', manifest, place, id: `nemoclaw-backups:${stamp}`, time: scriptTime(stamp, dir), skipped };
}

/** The script named its dirs by local time (`date +%Y%m%d-%H%M%S`); without such a name, the dir's mtime. */
function scriptTime(stamp: string, dir: string): Date {
  const m = SCRIPT_STAMP.exec(stamp);
  if (m) return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return fs.statSync(dir).mtime;
}

/** The parents a remapped entry needs (`workspace/` for the script's files), as directories of the bundle. */
function impliedDirs(entries: readonly BundleEntry[], selection: Selection): BundleEntry[] {
  const have = new Set(entries.map((e) => e.path));
  const implied: BundleEntry[] = [];
  for (const entry of entries) {
    for (let slash = entry.path.indexOf('/'); slash > 0; slash = entry.path.indexOf('/', slash + 1)) {
      const parent = entry.path.slice(0, slash);
      if (have.has(parent)) continue;
      have.add(parent);
      implied.push({ path: parent, type: 'dir', mode: 0o700, module: selection.moduleOf(parent).module });
    }
  }
  return implied;
}

/**
 * One entry into the payload: a directory, a link, a file copied and checked against the hash the
 * walk took, or a database through the backup API from a private copy (so the source is never opened).
 */
async function copyEntry(from: string, payload: string, entry: BundleEntry, scratchFile: string): Promise<BundleEntry> {
  const dest = path.join(payload, ...entry.path.split('/'));
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
  if (entry.type === 'dir') {
    fs.mkdirSync(fsPath(dest), { recursive: true, mode: 0o700 });
    return entry;
  }
  if (entry.type === 'symlink') {
    fs.symlinkSync(fsPath(entry.target!), fsPath(dest));
    return entry;
  }
  if (entry.strategy === 'sqlite_backup') {
    const scratch = privateCopy(from, scratchFile);
    try {
      const copy = await backupDatabase(scratch, dest, entry.path);
      fs.chmodSync(dest, bundleFileMode(entry.mode ?? 0o600));
      const digest = threadReader().hashFile(dest);
      return { ...entry, size: digest.size, sha256: digest.sha256, journalMode: copy.journalMode };
    } finally {
      removeCopy(scratch);
    }
  }
  fs.copyFileSync(fsPath(from), fsPath(dest), fs.constants.COPYFILE_EXCL);
  fs.chmodSync(fsPath(dest), bundleFileMode(entry.mode ?? 0o644));
  const digest = threadReader().hashFile(dest);
  if (digest.sha256 !== entry.sha256 || digest.size !== entry.size) {
    throw new IntegrityError('source-changed', `${from} changed while it was imported`, { hint: 'nothing was imported; try again' });
  }
  return entry;
}
