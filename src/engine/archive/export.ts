import { portableEntry } from '../bundle/portable.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, IntegrityError, NotFoundError, RefusedError, UsageError } from '../../errors.js';
import { createEncryptStream, type EncryptOptions } from '../../formats/envelope.js';
import { writeTar, type TarWriteEntry } from '../../formats/tar.js';
import { writeZip, type ZipWriteEntry } from '../../formats/zip.js';
import {
  assertContentChecksum,
  contentSha256,
  MANIFEST_FILE,
  PAYLOAD_DIR,
  serializeBundleManifest,
  type BundleEntry,
  type BundleManifest,
  type SkippedEntry,
} from '../../manifest/bundle-manifest.js';
import { ensureDir } from '../../store/atomic.js';
import { bundlePayloadDir, readBundleManifest } from '../../store/bundles.js';
import { parseBundleTimestamp } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { layoutPlace, QWENPAW_SECTIONS, zipNameOf, type QwenPawSection } from '../qwenpaw/archive-layout.js';
import { BACKUP_ID, defaultBackupName, META_FILE, qwenPawBackupId, serializeQwenPawMeta, type QwenPawMeta } from '../qwenpaw/meta.js';
import { mismatch } from '../bundle/checked-read.js';
import { loadAgentManifest } from '../sandbox/layout.js';
import { findSnapshot } from '../bundle/find.js';

export const EXPORT_FORMATS = ['tar', 'tar.gz', 'qwenpaw-zip'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRequest {
  sandbox: string;
  selector: string;
  format: ExportFormat;
  /** Absolute path of the archive. Optional for qwenpaw-zip: `<QwenPaw backup dir>/<id>.zip`. */
  output?: string;
  /** Replace an existing output file. */
  force?: boolean;
  /** Keep secrets modules in an unencrypted export. */
  includeSecrets?: boolean;
  /** Encrypt (tar and tar.gz only); an encrypted export keeps secrets. */
  passphrase?: string;
  /** Test hook: cheaper key derivation. */
  encryptOptions?: EncryptOptions;
  /** QwenPaw's backup dir ($QWENPAW_BACKUP_DIR); default `<working dir>.backups`. */
  qwenpawBackupDir?: string;
  /** Written into meta.json's `system_info`. */
  systemInfo?: Record<string, string>;
}

export interface ExportSummary {
  sandbox: string;
  bundle: { timestamp: string; name: string | null; version: number | null };
  output: string;
  format: ExportFormat;
  encrypted: boolean;
  /** Archive entries written (files, directories, links, manifest or meta.json). */
  entries: number;
  files: number;
  /** File bytes before compression. */
  bytes: number;
  archiveBytes: number;
  /** Secrets: in the archive, left out of it, or none in the snapshot. */
  secrets: 'included' | 'left-out' | 'none';
  /** Snapshot paths that are not in the archive (secrets left out, or no place in a QwenPaw zip); the first few. */
  leftOut: SkippedEntry[];
  leftOutCount: number;
  qwenpawId: string | null;
  warnings: string[];
  durationMs: number;
}

const LISTED = 20;
/** Files up to this size are read whole, checked, and handed to the writer as one buffer. */
const WHOLE_FILE_LIMIT = 4 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/**
 * Writes a snapshot as one portable archive: clawback's tar (manifest first,
 * then `payload/...`), optionally gzip'd and encrypted, or QwenPaw's backup
 * zip. Every file is checked against the manifest as it is read, so a
 * damaged bundle is never exported silently. The archive is streamed to a
 * temp file beside the output, fsync'ed and renamed (mode 0600).
 */
export async function exportSnapshot(request: ExportRequest, deps: EngineDeps): Promise<ExportSummary> {
  const started = Date.now();
  const encrypted = request.passphrase !== undefined;
  if (encrypted && request.format === 'qwenpaw-zip') {
    throw new UsageError('--encrypt applies to the tar and tar.gz formats', { hint: 'QwenPaw cannot read an encrypted zip; export as tar.gz to encrypt' });
  }
  const entry = getSandbox(deps.layout, request.sandbox);
  const record = findSnapshot(request.sandbox, request.selector, deps);
  if (record.state !== 'complete') {
    throw new IntegrityError('bundle-incomplete', `${record.dir} is ${record.state}; only complete snapshots can be exported`, {
      hint: record.problem?.message ?? 'choose another snapshot (`snapshot list`)',
    });
  }
  const bundle = record.manifest ?? readBundleManifest(record.dir);
  assertContentChecksum(bundle, path.join(record.dir, MANIFEST_FILE));
  if (request.format === 'qwenpaw-zip' && bundle.agentType !== 'qwenpaw') {
    throw new RefusedError('not-qwenpaw', `snapshot ${bundle.timestamp} is of a ${bundle.agentType} home; only QwenPaw snapshots can be exported as a QwenPaw zip`, {
      hint: 'use --format tar.gz',
    });
  }

  const agentManifest = loadAgentManifest(entry.agent);
  const secretModules = new Set(agentManifest.modules.filter((m) => m.secret).map((m) => m.name));
  for (const mount of bundle.mounts) if (mount.module === 'secrets') secretModules.add('secrets');
  const keepSecrets = request.includeSecrets === true || encrypted;
  const selected = selectEntries(bundle, (module) => !keepSecrets && secretModules.has(module));
  const hasSecrets = bundle.entries.some((e) => e.type !== 'dir' && secretModules.has(e.module));
  const warnings: string[] = [];
  if (hasSecrets && keepSecrets && !encrypted) {
    warnings.push('the export holds secrets (API keys, credentials) unencrypted; keep the file safe, or export with --encrypt');
  }

  const time = parseBundleTimestamp(bundle.timestamp) ?? deps.now();
  const writer =
    request.format === 'qwenpaw-zip'
      ? planZip(bundle, selected, time, request, entry.root)
      : planTar(bundle, selected, keepSecrets, secretModules, time);
  const output = writer.output ?? request.output;
  if (output === undefined) throw new UsageError('no output file', { hint: 'pass -o FILE' });
  prepareOutput(output, request.force === true, writer.output !== undefined);

  const files = writer.files;
  const bytes = files.reduce((sum, e) => sum + (e.size ?? 0), 0);
  deps.events.phase?.('export', { files: files.length, bytes });
  const reader = new CheckedReader(bundlePayloadDir(record.dir), deps);
  let entries: number;
  try {
    if (writer.kind === 'zip') {
      entries = (await writeZip(output, writer.entries(reader), { alwaysDeflate: true })).entries;
    } else {
      const through = encrypted ? await createEncryptStream(request.passphrase!, request.encryptOptions) : undefined;
      entries = (await writeTar(output, writer.entries(reader), { gzip: request.format === 'tar.gz', ...(through ? { through } : {}) })).entries;
    }
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && !fs.existsSync(record.dir)) {
      throw new NotFoundError('bundle-not-found', `snapshot ${bundle.timestamp} was deleted while it was being exported`, { cause: error });
    }
    throw error;
  }

  // Warnings reach the user through deps.events.warning; the summary keeps them for --json.
  for (const warning of [...warnings, ...writer.warnings]) deps.events.warning?.(warning);
  return {
    sandbox: request.sandbox,
    bundle: { timestamp: bundle.timestamp, name: bundle.name, version: record.version ?? null },
    output,
    format: request.format,
    encrypted,
    entries,
    files: files.length,
    bytes,
    archiveBytes: fs.statSync(output).size,
    secrets: !hasSecrets ? 'none' : selected.dropped.length > 0 ? 'left-out' : 'included',
    leftOut: writer.leftOut.slice(0, LISTED),
    leftOutCount: writer.leftOut.length,
    qwenpawId: writer.qwenpawId,
    warnings: [...warnings, ...writer.warnings],
    durationMs: Date.now() - started,
  };
}

interface Selected {
  entries: BundleEntry[];
  dropped: SkippedEntry[];
}

const SECRETS_LEFT_OUT = 'secrets left out of the export (pass --include-secrets or --encrypt to keep them)';

function selectEntries(bundle: BundleManifest, dropModule: (module: string) => boolean): Selected {
  const entries: BundleEntry[] = [];
  const dropped: SkippedEntry[] = [];
  for (const e of bundle.entries) {
    if (!dropModule(e.module)) entries.push(e);
    else if (e.type !== 'dir') dropped.push({ path: e.path, reason: SECRETS_LEFT_OUT });
  }
  return { entries, dropped };
}

/** What one format writes: the files it reads, what it leaves out, and the entry stream that reads them. */
interface PlanCommon {
  files: BundleEntry[];
  leftOut: SkippedEntry[];
  warnings: string[];
  qwenpawId: string | null;
  /** An output chosen by the plan (the QwenPaw backup dir), when the request has none. */
  output: string | undefined;
}

type ArchivePlan =
  | (PlanCommon & { kind: 'tar'; entries(reader: CheckedReader): Iterable<TarWriteEntry> })
  | (PlanCommon & { kind: 'zip'; entries(reader: CheckedReader): Iterable<ZipWriteEntry> });

/**
 * The manifest that travels in a tar: the snapshot's own, minus what was left
 * out (totals and contentSha256 recomputed), with host-only fields dropped
 * and the snapshot's identity recorded so an import can tell it was seen.
 */
function derivedManifest(bundle: BundleManifest, selected: Selected, keepSecrets: boolean, secretModules: Set<string>): BundleManifest {
  const entries = selected.entries.map(portableEntry);
  const files = entries.filter((e) => e.type === 'file');
  const kept = new Set(entries.map((e) => e.path));
  const leftOutSecrets = !keepSecrets && selected.dropped.length > 0;
  return {
    ...bundle,
    stateFiles: bundle.stateFiles.filter((f) => kept.has(f.path)),
    modules: [...new Set(entries.map((e) => e.module))].sort(),
    includesSecrets: keepSecrets && bundle.includesSecrets,
    scope: {
      ...bundle.scope,
      includesSecrets: keepSecrets && bundle.scope.includesSecrets,
      modules: keepSecrets ? bundle.scope.modules : bundle.scope.modules.filter((m) => !secretModules.has(m)),
    },
    mounts: leftOutSecrets ? bundle.mounts.filter((m) => !(m.module !== undefined && secretModules.has(m.module))) : bundle.mounts,
    origin: { ...bundle.origin, clawbackId: bundle.origin?.clawbackId ?? `${bundle.sandboxName}@${bundle.timestamp}` },
    entries,
    skipped: [...bundle.skipped, ...selected.dropped],
    totals: { files: files.length, bytes: files.reduce((sum, e) => sum + (e.size ?? 0), 0) },
    contentSha256: contentSha256(entries),
  };
}

function planTar(bundle: BundleManifest, selected: Selected, keepSecrets: boolean, secretModules: Set<string>, time: Date): ArchivePlan {
  const manifest = derivedManifest(bundle, selected, keepSecrets, secretModules);
  const manifestBytes = Buffer.from(serializeBundleManifest(manifest), 'utf8');
  return {
    kind: 'tar',
    files: manifest.entries.filter((e) => e.type === 'file'),
    leftOut: selected.dropped,
    warnings: [],
    qwenpawId: null,
    output: undefined,
    *entries(reader) {
      yield { name: MANIFEST_FILE, type: 'file', buffer: manifestBytes, mode: 0o600, mtime: time };
      yield { name: PAYLOAD_DIR, type: 'directory', mode: 0o700, mtime: time };
      for (const e of manifest.entries) {
        const name = `${PAYLOAD_DIR}/${e.path}`;
        if (e.type === 'dir') yield { name, type: 'directory', mode: e.mode ?? 0o755, mtime: time };
        else if (e.type === 'symlink') yield { name, type: 'symlink', linkTarget: e.target!, mode: 0o777, mtime: time };
        else yield { name, type: 'file', ...reader.content(e, true), mode: e.mode ?? 0o644, mtime: e.mtimeMs ?? time };
      }
    },
  };
}

function planZip(bundle: BundleManifest, selected: Selected, time: Date, request: ExportRequest, root: string): ArchivePlan {
  const leftOut = [...selected.dropped];
  const bySection = new Map<QwenPawSection, BundleEntry[]>(QWENPAW_SECTIONS.map((s) => [s, []]));
  const agents = new Set<string>();
  let symlinks = 0;
  for (const e of selected.entries) {
    if (e.type === 'dir') continue;
    const place = layoutPlace(e.path);
    if (e.type === 'symlink') {
      symlinks++;
      leftOut.push({ path: e.path, reason: 'symlink (QwenPaw backups hold regular files only)' });
    } else if (!place) {
      leftOut.push({ path: e.path, reason: 'outside the QwenPaw backup layout' });
    } else {
      bySection.get(place.section)!.push(e);
      if (place.agent) agents.add(place.agent);
    }
  }
  const files = QWENPAW_SECTIONS.flatMap((s) => bySection.get(s)!);
  const holds = (module: string): boolean => bundle.scope.full || bundle.scope.modules.includes(module);
  const secretsKept = selected.dropped.length === 0;
  const reusable = bundle.origin?.qwenpawId !== undefined && BACKUP_ID.test(bundle.origin.qwenpawId) && leftOut.length === 0;
  const short8 = createHash('sha256').update(`${bundle.sandboxName}@${bundle.timestamp}\n${contentSha256(files)}`).digest('hex').slice(0, 8);
  const id = reusable ? bundle.origin!.qwenpawId! : qwenPawBackupId(bundle.agentVersion ?? 'unknown', time, short8);
  const meta: QwenPawMeta = {
    id,
    name: bundle.origin?.qwenpawName ?? bundle.name ?? defaultBackupName(time),
    description: bundle.origin?.qwenpawDescription ?? `clawback snapshot ${bundle.timestamp} of ${bundle.sandboxName}`,
    created_at: time.toISOString(),
    version: '1',
    scope: {
      include_agents: holds('workspaces'),
      include_global_config: holds('config'),
      include_secrets: secretsKept && bundle.scope.includesSecrets && holds('secrets'),
      include_skill_pool: holds('skill_pool'),
    },
    agent_count: agents.size,
    qwenpaw_version: bundle.agentVersion ?? 'unknown',
    system_info: request.systemInfo ?? {},
    signature: null,
    accepted_via_trust: null,
  };
  const metaBytes = Buffer.from(serializeQwenPawMeta(meta), 'utf8');
  const backupDir = request.qwenpawBackupDir ?? `${root.replace(/\/+$/, '')}.backups`;
  return {
    kind: 'zip',
    files,
    leftOut,
    warnings: symlinks > 0 ? [`${symlinks} symlink(s) are not in the zip: QwenPaw backups hold regular files only`] : [],
    qwenpawId: id,
    output: request.output === undefined ? path.join(backupDir, `${id}.zip`) : undefined,
    *entries(reader) {
      yield { name: META_FILE, buffer: metaBytes, mtime: time, mode: 0o600 };
      for (const e of files) {
        yield { name: zipNameOf(e.path), ...reader.content(e), mtime: new Date(e.mtimeMs ?? time.getTime()), mode: (e.mode ?? 0o644) & 0o777 };
      }
    },
  };
}

function prepareOutput(output: string, force: boolean, createDir: boolean): void {
  const dir = path.dirname(output);
  if (createDir) ensureDir(dir);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new NotFoundError('output-dir-not-found', `cannot write ${output}: ${dir} is not a directory`);
  }
  const existing = fs.lstatSync(output, { throwIfNoEntry: false });
  if (!existing) return;
  if (!existing.isFile()) throw new RefusedError('output-exists', `${output} exists and is not a regular file`);
  if (!force) throw new RefusedError('output-exists', `${output} already exists`, { hint: 'pass --force to replace it, or choose another -o' });
}

/**
 * Reads bundle files for the writers, checking each against the manifest:
 * small files whole (one buffer, handed on), large ones hashed in a first
 * pass and then streamed by the writer from the path.
 */
class CheckedReader {
  private done = { files: 0, bytes: 0 };
  private lastReport = 0;

  constructor(
    private readonly payload: string,
    private readonly deps: EngineDeps,
  ) {}

  private scratch = Buffer.alloc(0);

  /**
   * `reuse`: the buffer is a view of one scratch buffer, valid until the next
   * call. The tar writer copies an entry out before it asks for the next one;
   * the zip writer keeps several in flight, so it gets buffers of its own.
   */
  content(entry: BundleEntry, reuse = false): { buffer: Buffer } | { file: string } {
    const file = `${this.payload}/${entry.path}`;
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    let result: { buffer: Buffer } | { file: string };
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile() || stat.size !== entry.size) throw mismatch(entry);
      if (stat.size > WHOLE_FILE_LIMIT) {
        hashStream(fd, entry);
        result = { file };
      } else {
        if (reuse && this.scratch.length < stat.size) this.scratch = Buffer.allocUnsafe(Math.max(stat.size, 64 * 1024));
        result = { buffer: readWhole(fd, stat.size, entry, reuse ? this.scratch : Buffer.allocUnsafe(stat.size)) };
      }
    } finally {
      fs.closeSync(fd);
    }
    this.tick(entry.size ?? 0);
    return result;
  }

  private tick(bytes: number): void {
    this.done.files++;
    this.done.bytes += bytes;
    const now = Date.now();
    if (now - this.lastReport >= 100) {
      this.lastReport = now;
      this.deps.events.progress?.({ ...this.done });
    }
  }
}

function readWhole(fd: number, size: number, entry: BundleEntry, into: Buffer): Buffer {
  const buffer = into.subarray(0, size);
  let length = 0;
  while (length < size) {
    const read = fs.readSync(fd, buffer, length, size - length, null);
    if (read === 0) throw mismatch(entry);
    length += read;
  }
  if (createHash('sha256').update(buffer).digest('hex') !== entry.sha256) throw mismatch(entry);
  return buffer;
}

function hashStream(fd: number, entry: BundleEntry): void {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const read = fs.readSync(fd, buffer, 0, CHUNK, null);
    if (read === 0) break;
    hash.update(buffer.subarray(0, read));
  }
  if (hash.digest('hex') !== entry.sha256) throw mismatch(entry);
}
