import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ClawbackError, IntegrityError, NotFoundError, RefusedError } from '../../errors.js';
import { type ArchiveLimits } from '../../formats/archive-guard.js';
import { decryptFile, isEncrypted } from '../../formats/envelope.js';
import { extractTar } from '../../formats/tar.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import {
  assertContentChecksum,
  MANIFEST_FILE,
  PAYLOAD_DIR,
  parseBundleManifest,
  serializeBundleManifest,
  type BundleEntry,
  type BundleManifest,
} from '../../manifest/bundle-manifest.js';
import { ensureDir, fsyncDir, syncTree, writeFileAtomic } from '../../store/atomic.js';
import { completeBundles, listBundles, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import { bundleTimestamp, parseBundleTimestamp, sandboxBundleDir } from '../../store/home.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { syncfs } from '../../store/syncfs.js';
import { removeBundles } from '../bundle/remove.js';
import { portableEntry } from '../bundle/portable.js';
import type { EngineDeps } from '../deps.js';
import { validateLabel } from '../bundle/label.js';
import { stageQwenPawZip } from '../qwenpaw/import-zip.js';
import { loadAgentManifest } from '../sandbox/layout.js';
import { sandboxLock } from '../sandbox/lock.js';

import type { ImportContext, ImportFormat, ImportPlan, ImportRequest, OriginKey, StagedImport } from './types.js';

export type { ImportFormat, ImportRequest } from './types.js';


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


const SCRATCH_PREFIX = '.import-';
/** A manifest larger than this is not one clawback wrote (40,000 entries take about 10 MB). */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/**
 * Imports an archive as a new bundle of a sandbox: clawback's tar or tar.gz
 * (encrypted or not) or a QwenPaw backup zip. An encrypted file is decrypted
 * and authenticated whole before anything is read from it; every entry passes
 * the hostile-archive guard and the containment join before anything is
 * extracted; extraction goes to `<timestamp>.partial/`, every file is checked
 * (or hashed, for a zip), and the bundle is published like a snapshot.
 */
export async function importArchive(request: ImportRequest, deps: EngineDeps): Promise<ImportSummary> {
  const started = Date.now();
  const entry = getSandbox(deps.layout, request.sandbox);
  const agentManifest = loadAgentManifest(entry.agent);
  if (request.label !== undefined) validateLabel(request.label);
  if (!fs.statSync(request.file, { throwIfNoEntry: false })?.isFile()) {
    throw new NotFoundError('archive-not-found', `${request.file} does not exist or is not a file`);
  }
  // Asked before the lock is taken: a person typing must not hold up a scheduled snapshot.
  const encrypted = isEncrypted(request.file);
  const passphrase = encrypted ? await askPassphrase(request) : undefined;
  const lock = sandboxLock(deps, request.sandbox, 'snapshot import');
  try {
    const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
    ensureDir(sandboxDir);
    removeStaleScratch(sandboxDir);
    const scratch = fs.mkdtempSync(path.join(sandboxDir, SCRATCH_PREFIX));
    let planned: ImportPlan | undefined;
    try {
      const archive = passphrase !== undefined ? await decrypted(request.file, passphrase, scratch) : request.file;
      const records = listBundles(sandboxDir);
      const context: ImportContext = {
        request,
        deps,
        entry,
        agentManifest,
        scratch,
        plan: (key, id, suggested, time) => (planned = planImport(request, records, sandboxDir, key, id, suggested, time)),
      };
      const kind = sniffArchive(archive);
      let staged: StagedImport;
      try {
        staged = kind === 'zip' ? await stageQwenPawZip(archive, context) : await stageClawbackTar(archive, kind === 'gzip', context);
        publish(staged, sandboxDir, deps);
      } catch (error) {
        // Whatever was extracted goes; nothing was published.
        if (planned !== undefined) fs.rmSync(planned.partialDir, { recursive: true, force: true });
        throw error;
      }
      const { manifest, plan } = staged;
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
        files: manifest.totals.files,
        bytes: manifest.totals.bytes,
        databases: staged.databases,
        replaced: plan.replaces.map((r) => r.timestamp),
        origin: manifest.origin ?? {},
        skipped: staged.skipped,
        warnings: staged.warnings,
        durationMs: Date.now() - started,
      };
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
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

function removeStaleScratch(sandboxDir: string): void {
  // Under the sandbox lock: a scratch dir found here belongs to an import that was killed.
  for (const name of fs.readdirSync(sandboxDir)) {
    if (name.startsWith(SCRATCH_PREFIX)) fs.rmSync(path.join(sandboxDir, name), { recursive: true, force: true });
  }
}

function identityOf(record: BundleRecord, key: OriginKey): string | undefined {
  const header = record.header;
  if (!header) return undefined;
  const fromOrigin = header.origin?.[key];
  if (fromOrigin !== undefined) return fromOrigin;
  return key === 'clawbackId' ? `${header.sandboxName}@${header.timestamp}` : undefined;
}

function planImport(request: ImportRequest, records: BundleRecord[], sandboxDir: string, key: OriginKey, id: string, suggested: string | null, time: Date): ImportPlan {
  const complete = completeBundles(records);
  const replaces = complete.filter((r) => identityOf(r, key) === id);
  if (replaces.length > 0 && request.overwrite !== true) {
    const existing = replaces[0]!;
    throw new RefusedError('already-imported', `${request.sandbox} already holds this archive's snapshot (${key === 'qwenpawId' ? 'QwenPaw backup ' : ''}${id}) as ${existing.timestamp}${existing.header?.name ? ` "${existing.header.name}"` : ''}`, {
      hint: 'pass --overwrite to replace it',
    });
  }
  const others = complete.filter((r) => !replaces.includes(r));
  const taken = new Set(others.map((r) => r.header.name).filter((n): n is string => n !== null));
  let label: string | null;
  if (request.label !== undefined) {
    if (taken.has(request.label)) {
      throw new RefusedError('duplicate-name', `${request.sandbox} already has a snapshot named ${JSON.stringify(request.label)}`, { hint: 'pick another --name' });
    }
    label = request.label;
  } else {
    label = uniqueLabel(labelFromName(suggested), taken);
  }
  const timestamp = uniqueTimestamp(sandboxDir, time);
  return { timestamp, partialDir: path.join(sandboxDir, timestamp + PARTIAL_SUFFIX), label, replaces };
}

/** A free-form name (a QwenPaw backup's "Backup 2026-04-21 14:11") made a valid label, or null. */
export function labelFromName(name: string | null): string | null {
  if (name === null) return null;
  let label = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[-.]+$/, '');
  if (label === '') return null;
  if (/^v\d+$/.test(label) || label === 'latest') label = `imported-${label}`;
  return label;
}

function uniqueLabel(base: string | null, taken: Set<string>): string | null {
  if (base === null || !taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = base.slice(0, 63 - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}

function uniqueTimestamp(sandboxDir: string, time: Date): string {
  for (let ms = time.getTime(); ; ms++) {
    const stamp = bundleTimestamp(new Date(ms));
    if (!fs.existsSync(path.join(sandboxDir, stamp)) && !fs.existsSync(path.join(sandboxDir, stamp + PARTIAL_SUFFIX))) return stamp;
  }
}

/** Manifest written atomically, the tree made durable, the directory renamed into place; then what it replaces goes. */
function publish(staged: StagedImport, sandboxDir: string, deps: EngineDeps): void {
  const { plan, manifest } = staged;
  writeFileAtomic(path.join(plan.partialDir, MANIFEST_FILE), serializeBundleManifest(manifest), 0o600);
  syncTree(plan.partialDir, syncfs);
  deps.fault?.('import:before-rename');
  fs.renameSync(plan.partialDir, path.join(sandboxDir, plan.timestamp));
  fsyncDir(sandboxDir);
  if (plan.replaces.length > 0) removeBundles(sandboxDir, plan.replaces, deps);
}

/** Bundle files keep their mode bits minus group/other write (SPEC 4). */
function bundleFileMode(mode: number): number {
  return mode & ~0o022 & 0o777;
}

async function stageClawbackTar(archive: string, gzip: boolean, context: ImportContext): Promise<StagedImport> {
  const { request, agentManifest } = context;
  const label = `${request.file}: ${MANIFEST_FILE}`;
  const manifest = parseBundleManifest((await readFirstEntry(archive, gzip, request.file)).toString('utf8'), label);
  assertContentChecksum(manifest, label);
  if (manifest.agentType !== agentManifest.agent) {
    throw new RefusedError('agent-mismatch', `${request.file} holds a snapshot of a ${manifest.agentType} home; ${request.sandbox} is registered as ${agentManifest.agent}`, {
      hint: `import it into a sandbox registered with --agent ${manifest.agentType}`,
    });
  }
  const id = manifest.origin?.clawbackId ?? `${manifest.sandboxName}@${manifest.timestamp}`;
  const plan = context.plan('clawbackId', id, manifest.name, parseBundleTimestamp(manifest.timestamp) ?? context.deps.now());

  const links = new Map(manifest.entries.filter((e) => e.type === 'symlink').map((e) => [`${PAYLOAD_DIR}/${e.path}`, e.target!]));
  const listed = new Set(manifest.entries.map((e) => `${PAYLOAD_DIR}/${e.path}`));
  context.deps.events.phase?.('import', { files: manifest.totals.files, bytes: manifest.totals.bytes });
  await extractTar(
    archive,
    plan.partialDir,
    (name) => {
      if (name === MANIFEST_FILE) return null;
      // Checked while listing, so an archive with entries its manifest does not name writes nothing.
      if (name === PAYLOAD_DIR || listed.has(name)) return name;
      throw new IntegrityError('archive-mismatch', `${request.file}: entry ${JSON.stringify(name)} is not listed in the manifest`, {
        hint: 'the archive was altered or damaged; nothing was imported',
      });
    },
    {
      gzip,
      agentIdRoots: manifest.agentType === 'qwenpaw' ? [`${PAYLOAD_DIR}/workspaces`] : [],
      allowSymlinks: (name, target) => links.get(name) === target,
      ...(request.limits ? { limits: request.limits } : {}),
    },
  );
  verifyPayload(path.join(plan.partialDir, PAYLOAD_DIR), manifest, request.file, context.deps);
  const final: BundleManifest = {
    ...manifest,
    sandboxName: request.sandbox,
    timestamp: plan.timestamp,
    name: plan.label,
    origin: { ...manifest.origin, clawbackId: id, importedFrom: path.basename(request.file) },
    entries: manifest.entries.map(portableEntry),
  };
  const databases = manifest.entries.filter((e) => e.strategy === 'sqlite_backup').map((e) => e.path);
  return { plan, manifest: final, format: gzip ? 'tar.gz' : 'tar', databases, skipped: 0, warnings: [] };
}

/**
 * Every extracted path must be an entry of the manifest with the same type,
 * and every file must hash to the manifest's sha256; nothing may be missing.
 * Files get the bundle's mode (extraction wrote them 0600).
 */
function verifyPayload(payload: string, manifest: BundleManifest, file: string, deps: EngineDeps): void {
  const expected = new Map(manifest.entries.map((e) => [e.path, e]));
  const seen = new Set<string>();
  const hashBuffer = Buffer.allocUnsafe(1024 * 1024);
  let done = { files: 0, bytes: 0 };
  let lastReport = 0;
  const fail: (why: string) => never = (why) => {
    throw new IntegrityError('archive-mismatch', `${file}: ${why}`, { hint: 'the archive was altered or damaged; nothing was imported' });
  };
  const walk = (dir: string, rel: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const dirent of fs.readdirSync(dir, { withFileTypes: true })) {
      const childRel = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      const full = `${dir}/${dirent.name}`;
      const entry = expected.get(childRel);
      if (!entry) fail(`${childRel} is not listed in the manifest`);
      seen.add(childRel);
      if (entry.type === 'dir') {
        if (!dirent.isDirectory()) fail(`${childRel} should be a directory`);
        walk(full, childRel);
      } else if (entry.type === 'symlink') {
        if (!dirent.isSymbolicLink() || fs.readlinkSync(full) !== entry.target) fail(`${childRel} is not the symlink the manifest lists`);
      } else {
        if (!dirent.isFile()) fail(`${childRel} should be a regular file`);
        const fd = fs.openSync(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          const hash = createHash('sha256');
          let size = 0;
          for (;;) {
            const read = fs.readSync(fd, hashBuffer, 0, hashBuffer.length, null);
            if (read === 0) break;
            hash.update(hashBuffer.subarray(0, read));
            size += read;
          }
          if (size !== entry.size || hash.digest('hex') !== entry.sha256) fail(`${childRel} does not match its sha256 in the manifest`);
          fs.fchmodSync(fd, bundleFileMode(entry.mode ?? 0o644));
          done = { files: done.files + 1, bytes: done.bytes + size };
        } finally {
          fs.closeSync(fd);
        }
        const now = Date.now();
        if (now - lastReport >= 100) {
          lastReport = now;
          deps.events.progress?.(done);
        }
      }
    }
  };
  walk(payload, '');
  const missing = manifest.entries.filter((e) => !seen.has(e.path));
  if (missing.length > 0) fail(`${missing.length} entr${missing.length === 1 ? 'y is' : 'ies are'} missing, e.g. ${missing[0]!.path}`);
}

/**
 * Reads the archive's first entry, which must be the manifest, without
 * decompressing the rest: the manifest decides how the archive is checked.
 */
function readFirstEntry(file: string, gzip: boolean, label: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const input = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
    const gunzip = gzip ? zlib.createGunzip() : undefined;
    const parser = new Parser({ strict: true });
    let settled = false;
    const settle = (error: unknown, data?: Buffer): void => {
      if (settled) return;
      settled = true;
      input.destroy();
      gunzip?.destroy();
      if (error === undefined) resolve(data!);
      else reject(error instanceof ClawbackError ? error : corruptTar(label, error instanceof Error ? error.message : String(error)));
    };
    parser.on('entry', (entry: ReadEntry) => {
      if (settled) {
        entry.resume();
        return;
      }
      if (entry.path !== MANIFEST_FILE || entry.type !== 'File') {
        entry.resume();
        settle(corruptTar(label, `its first entry is ${JSON.stringify(entry.path)}, not ${MANIFEST_FILE}`));
        return;
      }
      if (entry.size > MAX_MANIFEST_BYTES) {
        entry.resume();
        settle(corruptTar(label, `its manifest claims ${entry.size} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => settle(undefined, Buffer.concat(chunks)));
    });
    parser.on('error', (error: unknown) => settle(error));
    parser.on('end', () => settle(corruptTar(label, 'it holds no entries')));
    input.on('error', (error) => settle(error));
    if (gunzip) {
      gunzip.on('error', (error) => settle(error));
      input.pipe(gunzip).pipe(parser);
    } else {
      input.pipe(parser);
    }
  });
}

function corruptTar(file: string, why: string): IntegrityError {
  return new IntegrityError('corrupt-archive', `${file} is not a readable clawback export: ${why}`);
}

