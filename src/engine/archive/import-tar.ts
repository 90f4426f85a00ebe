import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import picomatch from 'picomatch';
import { Parser, type ReadEntry } from 'tar';
import { ClawbackError, IntegrityError, RefusedError } from '../../errors.js';
import { extractTarStreaming, type TarEntryInfo } from '../../formats/tar.js';
import { linkStaysInside } from '../../fs-safety/safe-path.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import { assertContentChecksum, MANIFEST_FILE, PAYLOAD_DIR, parseBundleHeader, parseBundleManifest, type BundleEntry, type BundleHeader, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { INVENTORY_FILE } from '../../manifest/inventory.js';
import { inlineInventory, sidecarInventory, type Inventory } from '../../store/inventory-reader.js';
import { InventoryWriter, type InventorySummary } from '../../store/inventory-writer.js';
import { parseBundleTimestamp } from '../../store/home.js';
import { completeHeader } from '../bundle/complete-manifest.js';
import { bundleFileMode } from '../bundle/file-mode.js';
import { portableEntry } from '../bundle/portable.js';
import { ListedEntries, OrderedEntries, type EntrySource } from './inventory-cursor.js';
import type { ImportContext, StagedImport } from './types.js';
import { tarEntryName, tarText } from './tar-names.js';

/** A manifest larger than this is not one clawback wrote (40,000 entries take about 10 MB). */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/**
 * Stages clawback's own tar or tar.gz: the manifest (the first entry) and its inventory read and
 * checked first, then the archive extracted in one pass, each payload entry checked against the
 * inventory's next entry (export writes them in its order) and each file hashed as it is written.
 * The inventory is read one entry at a time (checked whole first, then in step with the archive),
 * and the new bundle's inventory is written as the entries pass: never held as objects. An archive
 * whose payload is in another order is extracted again, its entries found by name.
 */
export async function stageClawbackTar(archive: string, gzip: boolean, context: ImportContext): Promise<StagedImport> {
  const { request, agentManifest } = context;
  const label = `${request.file}: ${MANIFEST_FILE}`;
  const { header, inventory } = archivedInventory(await readLeadingEntries(archive, gzip, request.file), label);
  if (header.agentType !== agentManifest.agent) {
    throw new RefusedError('agent-mismatch', `${request.file} holds a snapshot of a ${header.agentType} home; ${request.sandbox} is registered as ${agentManifest.agent}`, {
      hint: `import it into a sandbox registered with --agent ${header.agentType}`,
    });
  }
  assertInventorySafe(inventory, agentManifest, request.file);
  const id = header.origin?.clawbackId ?? `${header.sandboxName}@${header.timestamp}`;
  const plan = context.plan('clawbackId', id, header.name, parseBundleTimestamp(header.timestamp) ?? context.deps.now());
  context.deps.events.phase?.('import', { files: header.totals.files, bytes: header.totals.bytes });
  let written = new WrittenInventory(plan.partialDir);
  try {
    const ordered = new OrderedEntries(inventory, (e) => written.add(e));
    try {
      await extractChecked(archive, gzip, header.agentType, ordered, plan.partialDir, context);
    } catch (error) {
      if (!ordered.outOfOrder) throw error;
      written.close();
      fs.rmSync(plan.partialDir, { recursive: true, force: true });
      written = new WrittenInventory(plan.partialDir);
      await extractChecked(archive, gzip, header.agentType, new ListedEntries(inventory), plan.partialDir, context);
      for (const e of inventory.entries()) written.add(e);
    }
    const summary = written.finish(inventory.skipped);
    const origin = { ...header.origin, clawbackId: id, importedFrom: path.basename(request.file) };
    const final = completeHeader({ ...header, sandboxName: request.sandbox, timestamp: plan.timestamp, name: plan.label, origin }, summary);
    return { plan, header: final, inventory: summary, format: gzip ? 'tar.gz' : 'tar', databases: written.databases, skipped: 0, warnings: [] };
  } finally {
    written.close();
  }
}

/** The imported bundle's inventory, written into its partial dir as entries are accepted, and the databases among them. */
class WrittenInventory {
  readonly databases: string[] = [];
  private readonly writer: InventoryWriter;

  constructor(partialDir: string) {
    fs.mkdirSync(partialDir, { recursive: true, mode: 0o700 });
    this.writer = new InventoryWriter(partialDir);
  }

  add(entry: BundleEntry): void {
    this.writer.add(portableEntry(entry));
    if (entry.strategy === 'sqlite_backup') this.databases.push(entry.path);
  }

  finish(skipped: readonly SkippedEntry[]): InventorySummary {
    for (const item of skipped) this.writer.addSkipped(item);
    return this.writer.finish();
  }

  close(): void {
    this.writer.close();
  }
}

const TAR_TYPE: Record<BundleEntry['type'], string> = { file: 'file', dir: 'directory', symlink: 'symlink' };
const KIND_NAME: Record<BundleEntry['type'], string> = { file: 'a regular file', dir: 'a directory', symlink: 'a symlink' };

/**
 * One extraction pass: every payload entry must be one the inventory lists (found by `source`), of
 * its type and size (a link with its target), and every file must hash to its sha256; nothing may
 * be missing. Files get the bundle's mode.
 */
async function extractChecked(archive: string, gzip: boolean, agentType: string, source: EntrySource, partialDir: string, context: ImportContext): Promise<void> {
  const { request, deps } = context;
  let done = { files: 0, bytes: 0 };
  const fail: (why: string) => never = (why) => {
    throw new IntegrityError('archive-mismatch', `${request.file}: ${why}`, { hint: 'the archive was altered or damaged; nothing was imported' });
  };
  const map = (name: string, info: TarEntryInfo): string | null => {
    if (name === MANIFEST_FILE || name === INVENTORY_FILE) return null;
    if (name === PAYLOAD_DIR) return name;
    // Checked while extracting, so an archive with entries its manifest does not name fails here, its partial bundle removed.
    const entry = source.take(name);
    if (entry === undefined) fail(`entry ${JSON.stringify(name)} is not listed in the manifest`);
    if (TAR_TYPE[entry.type] !== info.type) fail(`${entry.path} should be ${KIND_NAME[entry.type]}`);
    if (entry.type === 'file' && info.size !== entry.size) fail(`${entry.path} does not match its size in the manifest`);
    return `${PAYLOAD_DIR}/${entry.path}`;
  };
  await extractTarStreaming(archive, partialDir, map, {
    gzip,
    // each inventory entry is handed out once, and its paths are distinct
    distinctPaths: true,
    agentIdRoots: agentType === 'qwenpaw' ? [`${PAYLOAD_DIR}/workspaces`] : [],
    // A link the inventory lists with this target; one that leaves the root was vouched for as managed by assertInventorySafe.
    allowSymlinks: (name, target) => {
      const entry = source.peek(name);
      if (entry?.type !== 'symlink' || tarText(entry.target ?? '') !== target) return false;
      return linkStaysInside(name, target) ? true : 'managed';
    },
    // the inventory holds the exact bytes of a target the tar holds escaped
    linkTargetOf: (_rel, archived) => source.current?.target ?? archived,
    fileMode: () => bundleFileMode(source.current?.mode ?? 0o644),
    fileWritten: (rel, size, sha256) => {
      const entry = source.current;
      if (entry === undefined || rel !== `${PAYLOAD_DIR}/${entry.path}`) fail(`${rel} is out of step with the manifest`);
      if (size !== entry.size || sha256 !== entry.sha256) fail(`${entry.path} does not match its sha256 in the manifest`);
      done = { files: done.files + 1, bytes: done.bytes + size };
      deps.events.progress?.(done);
    },
    ...(request.limits ? { limits: request.limits } : {}),
  });
  const missing = source.rest();
  if (missing.count > 0) fail(`${missing.count} entr${missing.count === 1 ? 'y is' : 'ies are'} missing, e.g. ${missing.first!.path}`);
}

/**
 * The whole inventory read once before anything is written: the reader's checks (order, count,
 * checksums), and every link it lists, which must resolve inside the payload root, as restore
 * requires (the extraction guard only keeps it inside the archive, which also holds the manifest),
 * unless the agent manifest allowlists it. Refused here, naming the links.
 */
function assertInventorySafe(inventory: Inventory, agentManifest: AgentManifest, file: string): void {
  const allowLink = agentManifest.managedLinks.length > 0 ? picomatch(agentManifest.managedLinks, { dot: true }) : () => false;
  const unsafe: string[] = [];
  let count = 0;
  for (const e of inventory.entries()) {
    if (e.type !== 'symlink' || linkStaysInside(e.path, e.target ?? '') || allowLink(e.path)) continue;
    count++;
    if (unsafe.length < 20) unsafe.push(`${e.path} -> ${e.target ?? ''}`);
  }
  if (count === 0) return;
  throw new RefusedError('unsafe-links', `${file} holds ${count} symlink(s) that are absolute or leave the snapshot's root: ${unsafe.slice(0, 3).join(', ')}${count > 3 ? ', …' : ''}`, {
    hint: 'nothing was imported; declare them under managed_links in the agent manifest if the agent manages them itself',
    details: unsafe,
  });
}

/**
 * The archive's manifest header and its inventory: the sidecar that follows the header (exports
 * since the sidecar), read from its compressed bytes, or entries inline (older exports), checked
 * like a bundle's.
 */
function archivedInventory(leading: { manifest: Buffer; inventory?: Buffer }, label: string): { header: BundleHeader; inventory: Inventory } {
  const text = leading.manifest.toString('utf8');
  if (!text.includes('\n "entries": [')) {
    const header = parseBundleHeader(text, label);
    if (header.inventory !== undefined) {
      if (leading.inventory === undefined) throw corruptTar(label, `its manifest names an inventory, but ${INVENTORY_FILE} does not follow it`);
      const { contentSha256: checksum, inventory: ref, ...rest } = header;
      return { header: rest, inventory: sidecarInventory('', ref, checksum ?? '', leading.inventory) };
    }
  }
  const manifest = parseBundleManifest(text, label);
  assertContentChecksum(manifest, label);
  const { entries, skipped, contentSha256: _sum, inventory: _ref, ...header } = manifest;
  return { header, inventory: inlineInventory(entries, skipped) };
}

/**
 * Reads the archive's first entry, which must be the manifest, and the inventory sidecar when it
 * follows, without decompressing the rest: the manifest decides how the archive is checked.
 */
function readLeadingEntries(file: string, gzip: boolean, label: string): Promise<{ manifest: Buffer; inventory?: Buffer }> {
  return new Promise((resolve, reject) => {
    const input = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
    const gunzip = gzip ? zlib.createGunzip() : undefined;
    const parser = new Parser({ strict: true });
    let settled = false;
    let manifest: Buffer | undefined;
    const settle = (error: unknown, inventory?: Buffer): void => {
      if (settled) return;
      settled = true;
      input.destroy();
      gunzip?.destroy();
      if (error === undefined) resolve(inventory === undefined ? { manifest: manifest! } : { manifest: manifest!, inventory });
      else reject(error instanceof ClawbackError ? error : corruptTar(label, error instanceof Error ? error.message : String(error)));
    };
    parser.on('entry', (entry: ReadEntry) => {
      if (settled) {
        entry.resume();
        return;
      }
      const second = manifest !== undefined;
      if (second && (entry.path !== INVENTORY_FILE || entry.type !== 'File')) {
        entry.resume();
        settle(undefined);
        return;
      }
      if (!second && (entry.path !== MANIFEST_FILE || entry.type !== 'File')) {
        entry.resume();
        settle(corruptTar(label, `its first entry is ${JSON.stringify(entry.path)}, not ${MANIFEST_FILE}`));
        return;
      }
      if (entry.size > MAX_MANIFEST_BYTES) {
        entry.resume();
        settle(corruptTar(label, `its ${second ? 'inventory' : 'manifest'} claims ${entry.size} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        if (second) settle(undefined, Buffer.concat(chunks));
        else manifest = Buffer.concat(chunks);
      });
    });
    parser.on('error', (error: unknown) => settle(error));
    parser.on('end', () => (manifest === undefined ? settle(corruptTar(label, 'it holds no entries')) : settle(undefined)));
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
