import fs from 'node:fs';
import path from 'node:path';
import { asUserError, ClawbackError, IntegrityError, NotFoundError, RefusedError } from '../../errors.js';
import { decryptFile, isEncrypted } from '../../formats/envelope.js';
import { ensureDir } from '../../store/atomic.js';
import { listBundles } from '../../store/bundles.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { validateLabel } from '../bundle/label.js';
import { publishBundle, publishManifest } from '../bundle/publish.js';
import { removeBundles } from '../bundle/remove.js';
import { IMPORT_SCRATCH_PREFIX } from '../bundle/timestamp.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest } from '../sandbox/layout.js';
import { sandboxLock } from '../sandbox/lock.js';
import { planImport } from './import-plan.js';
import { stageQwenPawZip } from './import-zip.js';
import { stageClawbackTar } from './import-tar.js';
import { stageNemoClawDir } from './import-dir.js';
import type { ImportContext, ImportFormat, ImportPlan, ImportRequest, StagedImport } from './types.js';

export type { ImportFormat, ImportRequest } from './types.js';
export { labelFromName } from './import-plan.js';

export interface ImportSummary {
  sandbox: string;
  file: string;
  format: ImportFormat;
  encrypted: boolean;
  timestamp: string;
  name: string | null;
  dir: string;
  files: number;
  bytes: number;
  databases: string[];
  /** Timestamps of the bundles that --overwrite replaced. */
  replaced: string[];
  origin: Record<string, string>;
  /** Archive entries not imported (outside the layout, SQLite companions merged into their database). */
  skipped: number;
  warnings: string[];
  durationMs: number;
}

/**
 * Imports an archive as a new bundle of a sandbox: clawback's tar or tar.gz
 * (encrypted or not) or a QwenPaw backup zip. An encrypted file is decrypted
 * and authenticated whole before anything is read from it; every entry passes
 * the hostile-archive guard and the containment join before it is extracted
 * (a zip's, before any is); extraction goes to `<timestamp>.partial/`, removed
 * on any refusal; every file is checked (or hashed, for a zip), and the bundle
 * is published like a snapshot.
 */
export async function importArchive(request: ImportRequest, deps: EngineDeps): Promise<ImportSummary> {
  const started = deps.clock();
  const entry = getSandbox(deps.layout, request.sandbox);
  const agentManifest = loadAgentManifest(entry.agent);
  if (request.label !== undefined) validateLabel(request.label);
  const stat = fs.statSync(request.file, { throwIfNoEntry: false });
  if (!stat?.isFile() && !stat?.isDirectory()) {
    throw new NotFoundError('archive-not-found', `${request.file} does not exist or is not a file or a NemoClaw backup directory`);
  }
  // Asked before the lock is taken: a person typing must not hold up a scheduled snapshot.
  const encrypted = stat.isFile() && isEncrypted(request.file);
  const passphrase = encrypted ? await askPassphrase(request) : undefined;
  const lock = sandboxLock(deps, request.sandbox, 'snapshot import');
  try {
    const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
    ensureDir(sandboxDir);
    const scratch = fs.mkdtempSync(path.join(sandboxDir, IMPORT_SCRATCH_PREFIX));
    try {
      const archive = passphrase !== undefined ? await decrypted(request.file, passphrase, scratch) : request.file;
      const staged = await stageAndPublish(archive, { request, deps, entry, agentManifest, scratch }, sandboxDir);
      return summaryOf(staged, request, encrypted, sandboxDir, deps.clock() - started, deps);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
}

/** Stages the archive by its format and publishes it, then removes what it replaces; on failure whatever was extracted goes. */
async function stageAndPublish(archive: string, target: Omit<ImportContext, 'plan'>, sandboxDir: string): Promise<StagedImport> {
  const { request, deps } = target;
  const records = listBundles(sandboxDir);
  let planned: ImportPlan | undefined;
  const context: ImportContext = { ...target, plan: (key, id, suggested, time) => (planned = planImport(request, records, sandboxDir, key, id, suggested, time)) };
  try {
    const staged = await stageByKind(archive, context);
    if ('manifest' in staged) publishManifest(staged.plan.partialDir, staged.manifest, deps, 'import');
    else publishBundle(staged.plan.partialDir, staged.header, staged.inventory, deps, 'import');
    if (staged.plan.replaces.length > 0) removeBundles(sandboxDir, staged.plan.replaces, deps);
    return staged;
  } catch (error) {
    // Nothing was published: whatever was extracted goes.
    if (planned !== undefined) fs.rmSync(planned.partialDir, { recursive: true, force: true });
    throw asUserError(error, sandboxDir, { nothingWritten: true });
  }
}

function stageByKind(archive: string, context: ImportContext): Promise<StagedImport> {
  if (fs.statSync(archive).isDirectory()) return stageNemoClawDir(archive, context);
  const kind = sniffArchive(archive);
  return kind === 'zip' ? stageQwenPawZip(archive, context) : stageClawbackTar(archive, kind === 'gzip', context);
}

function summaryOf(staged: StagedImport, request: ImportRequest, encrypted: boolean, sandboxDir: string, durationMs: number, deps: EngineDeps): ImportSummary {
  const { plan } = staged;
  const { totals, origin } = 'manifest' in staged ? staged.manifest : { totals: staged.inventory.totals, origin: staged.header.origin };
  // Warnings reach the user through deps.events.warning; the summary keeps them for --json.
  for (const warning of staged.warnings) deps.events.warning?.(warning);
  return {
    sandbox: request.sandbox,
    file: request.file,
    format: staged.format,
    encrypted,
    timestamp: plan.timestamp,
    name: plan.label,
    dir: path.join(sandboxDir, plan.timestamp),
    files: totals.files,
    bytes: totals.bytes,
    databases: staged.databases,
    replaced: plan.replaces.map((r) => r.timestamp),
    origin: origin ?? {},
    skipped: staged.skipped,
    warnings: staged.warnings,
    durationMs,
  };
}

function askPassphrase(request: ImportRequest): Promise<string> {
  if (!request.passphrase) {
    throw new RefusedError('passphrase-missing', `${request.file} is encrypted and no passphrase was given`, { hint: 'set CLAWBACK_PASSPHRASE or pass --passphrase-file FILE' });
  }
  return request.passphrase();
}

/** Decrypted whole into the scratch dir: every chunk is authenticated before any of it is read as an archive. */
async function decrypted(file: string, passphrase: string, scratch: string): Promise<string> {
  const plain = path.join(scratch, 'archive');
  try {
    await decryptFile(file, plain, passphrase);
  } catch (error) {
    if (error instanceof ClawbackError && error.code === 'bad-passphrase') {
      throw new IntegrityError('bad-passphrase', `wrong passphrase for ${file} (or the file is damaged)`);
    }
    throw error;
  }
  return plain;
}

function sniffArchive(file: string): 'zip' | 'gzip' | 'tar' {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(512);
  let read: number;
  try {
    read = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (read >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return 'zip';
  if (read >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (read === 512 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  throw new IntegrityError('unsupported-archive', `${file} is not a clawback export (tar, tar.gz, encrypted) or a QwenPaw backup zip`);
}
