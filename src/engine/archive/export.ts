import fs from 'node:fs';
import path from 'node:path';
import { asUserError, errnoCode, IntegrityError, NotFoundError, RefusedError, UsageError } from '../../errors.js';
import { createEncryptStream } from '../../formats/envelope.js';
import { writeTar } from '../../formats/tar.js';
import { writeZip } from '../../formats/zip.js';
import { assertContentChecksum, MANIFEST_FILE, type BundleHeader, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { ensureDir } from '../../store/atomic.js';
import { inlineInventory, type Inventory } from '../../store/inventory-reader.js';
import { readBundleManifest, recordInventory, type BundleRecord } from '../../store/bundles.js';
import { parseBundleTimestamp } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { findSnapshot } from '../bundle/find.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest } from '../sandbox/layout.js';
import { CheckedReader, selectEntries, type ArchivePlan } from './export-plan.js';
import { planTar } from './export-tar.js';
import { planZip } from './export-zip.js';
import type { ExportFormat, ExportRequest } from './types.js';

export type { ExportFormat, ExportRequest } from './types.js';

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

/**
 * Writes a snapshot as one portable archive: clawback's tar (manifest first,
 * then `payload/...`), optionally gzip'd and encrypted, or QwenPaw's backup
 * zip. Every file is checked against the manifest as it is read, so a
 * damaged bundle is never exported silently. The archive is streamed to a
 * temp file beside the output, fsync'ed and renamed (mode 0600).
 */
export async function exportSnapshot(request: ExportRequest, deps: EngineDeps): Promise<ExportSummary> {
  const started = deps.clock();
  const encrypted = request.passphrase !== undefined;
  if (encrypted && request.format === 'qwenpaw-zip') {
    throw new UsageError('--encrypt applies to the tar and tar.gz formats', { hint: 'QwenPaw cannot read an encrypted zip; export as tar.gz to encrypt' });
  }
  const entry = getSandbox(deps.layout, request.sandbox);
  const { record, header } = exportableSnapshot(request, deps);
  const keep = request.includeSecrets === true || encrypted;
  const modules = secretModulesOf(header, entry.agent);
  const time = parseBundleTimestamp(header.timestamp) ?? deps.now();
  const writer = request.format === 'qwenpaw-zip' ? zipPlan(record, modules, keep, time, request, entry.root) : planTar(header, tarInventory(record), keep, modules, time);
  const warnings: string[] = [];
  if (writer.secrets.has && keep && !encrypted) {
    warnings.push('the export holds secrets (API keys, credentials) unencrypted; keep the file safe, or export with --encrypt');
  }
  const output = writer.output ?? request.output;
  if (output === undefined) throw new UsageError('no output file', { hint: 'pass -o FILE' });
  prepareOutput(output, request.force === true, writer.output !== undefined);
  const bytes = writer.fileBytes;
  deps.events.phase?.('export', { files: writer.fileCount, bytes });
  const entries = await writeArchive(writer, output, request, record, deps);
  // Warnings reach the user through deps.events.warning; the summary keeps them for --json.
  for (const warning of [...warnings, ...writer.warnings]) deps.events.warning?.(warning);
  return {
    sandbox: request.sandbox,
    bundle: { timestamp: header.timestamp, name: header.name, version: record.version ?? null },
    output,
    format: request.format,
    encrypted,
    entries,
    files: writer.fileCount,
    bytes,
    archiveBytes: fs.statSync(output).size,
    secrets: !writer.secrets.has ? 'none' : writer.secrets.dropped > 0 ? 'left-out' : 'included',
    leftOut: writer.leftOut.slice(0, LISTED),
    leftOutCount: writer.leftOut.length,
    qwenpawId: writer.qwenpawId,
    warnings: [...warnings, ...writer.warnings],
    durationMs: deps.clock() - started,
  };
}

/**
 * The selected snapshot, if it is complete and of a kind the format can hold, and its header; its
 * inventory is read (and checked) by the plan, before anything is written.
 */
function exportableSnapshot(request: ExportRequest, deps: EngineDeps): { record: BundleRecord; header: BundleHeader } {
  const record = findSnapshot(request.sandbox, request.selector, deps);
  if (record.state !== 'complete') {
    throw new IntegrityError('bundle-incomplete', `${record.dir} is ${record.state}; only complete snapshots can be exported`, {
      hint: record.problem?.message ?? 'choose another snapshot (`snapshot list`)',
    });
  }
  const header: BundleHeader = record.header ?? readBundleManifest(record.dir);
  if (request.format === 'qwenpaw-zip' && header.agentType !== 'qwenpaw') {
    throw new RefusedError('not-qwenpaw', `snapshot ${header.timestamp} is of a ${header.agentType} home; only QwenPaw snapshots can be exported as a QwenPaw zip`, {
      hint: 'use --format tar.gz',
    });
  }
  return { record, header };
}

/** The modules that hold secrets: the agent's, and a mount of the secrets module. */
function secretModulesOf(header: BundleHeader, agent: string): Set<string> {
  const modules = new Set(loadAgentManifest(agent).modules.filter((m) => m.secret).map((m) => m.name));
  for (const mount of header.mounts) if (mount.module === 'secrets') modules.add('secrets');
  return modules;
}

/**
 * The inventory a tar is written from, in path order (the order of its payload, which import
 * follows): a clawback bundle's as stored; a NemoClaw bundle's, synthesised from its files, sorted.
 */
function tarInventory(record: BundleRecord): Inventory {
  if (record.legacy === undefined) return recordInventory(record);
  const manifest = record.manifest ?? readBundleManifest(record.dir);
  return inlineInventory([...manifest.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), manifest.skipped);
}

/** A QwenPaw zip is laid out from the whole manifest (QwenPaw homes are small): read, checked, and the secrets left out unless kept. */
function zipPlan(record: BundleRecord, modules: Set<string>, keep: boolean, time: Date, request: ExportRequest, root: string): ArchivePlan {
  const bundle = record.manifest ?? readBundleManifest(record.dir);
  assertContentChecksum(bundle, path.join(record.dir, MANIFEST_FILE));
  const hasSecrets = bundle.entries.some((e) => e.type !== 'dir' && modules.has(e.module));
  return planZip(bundle, selectEntries(bundle, (module) => !keep && modules.has(module)), hasSecrets, time, request, root);
}

/** Streams the plan's entries into the output; returns how many were written. */
async function writeArchive(writer: ArchivePlan, output: string, request: ExportRequest, record: BundleRecord, deps: EngineDeps): Promise<number> {
  const reader = new CheckedReader(record.payloadDir, deps);
  try {
    if (writer.kind === 'zip') return (await writeZip(output, writer.entries(reader), { alwaysDeflate: true })).entries;
    const through = request.passphrase !== undefined ? await createEncryptStream(request.passphrase, request.encryptOptions) : undefined;
    return (await writeTar(output, writer.entries(reader), { gzip: request.format === 'tar.gz', ...(through ? { through } : {}) })).entries;
  } catch (error) {
    // A missing payload file (raw ENOENT from a writer, the checked read's payload-missing, or the inventory's second read) because the bundle went.
    const missing = error instanceof IntegrityError && (error.code === 'payload-missing' || error.code === 'inventory-damaged');
    if ((errnoCode(error) === 'ENOENT' || missing) && !fs.existsSync(record.dir)) {
      throw new NotFoundError('bundle-not-found', `snapshot ${record.timestamp} was deleted while it was being exported`, { cause: error });
    }
    // The writers remove their temp file on failure: nothing is left at the output.
    throw asUserError(error, output, { nothingWritten: true });
  }
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
