import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import picomatch from 'picomatch';
import { Parser, type ReadEntry } from 'tar';
import { ClawbackError, IntegrityError, RefusedError } from '../../errors.js';
import { extractTar } from '../../formats/tar.js';
import { NO_FOLLOW, threadReader } from '../../fs-safety/file-reader.js';
import { fsPath, readDirents, readLinkTarget } from '../../fs-safety/fs-path.js';
import { linkStaysInside } from '../../fs-safety/safe-path.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import { assertContentChecksum, MANIFEST_FILE, PAYLOAD_DIR, parseBundleHeader, parseBundleManifest, type BundleManifest } from '../../manifest/bundle-manifest.js';
import { INVENTORY_FILE } from '../../manifest/inventory.js';
import { collectInventory, sidecarInventory } from '../../store/inventory-reader.js';
import { parseBundleTimestamp } from '../../store/home.js';
import { completeManifest } from '../bundle/complete-manifest.js';
import { bundleFileMode } from '../bundle/file-mode.js';
import { portableEntry } from '../bundle/portable.js';
import type { EngineDeps } from '../deps.js';
import type { ImportContext, StagedImport } from './types.js';
import { tarEntryName, tarText, TarNameMap } from './tar-names.js';

/** A manifest larger than this is not one clawback wrote (40,000 entries take about 10 MB). */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/**
 * Stages clawback's own tar or tar.gz: the manifest (the first entry) read and checked
 * first, then every entry extracted only if the manifest lists it, and every file checked.
 */
export async function stageClawbackTar(archive: string, gzip: boolean, context: ImportContext): Promise<StagedImport> {
  const { request, agentManifest } = context;
  const label = `${request.file}: ${MANIFEST_FILE}`;
  const manifest = archivedManifest(await readLeadingEntries(archive, gzip, request.file), label);
  if (manifest.agentType !== agentManifest.agent) {
    throw new RefusedError('agent-mismatch', `${request.file} holds a snapshot of a ${manifest.agentType} home; ${request.sandbox} is registered as ${agentManifest.agent}`, {
      hint: `import it into a sandbox registered with --agent ${manifest.agentType}`,
    });
  }
  assertLinksStayInside(manifest, agentManifest, request.file);
  const id = manifest.origin?.clawbackId ?? `${manifest.sandboxName}@${manifest.timestamp}`;
  const plan = context.plan('clawbackId', id, manifest.name, parseBundleTimestamp(manifest.timestamp) ?? context.deps.now());

  const symlinks = manifest.entries.filter((e) => e.type === 'symlink');
  const links = new Map(symlinks.map((e) => [tarEntryName(e.path), tarText(e.target!)]));
  const targets = new Map(symlinks.map((e) => [`${PAYLOAD_DIR}/${e.path}`, e.target!]));
  const listed = new TarNameMap(manifest.entries.map((e) => e.path));
  context.deps.events.phase?.('import', { files: manifest.totals.files, bytes: manifest.totals.bytes });
  await extractTar(
    archive,
    plan.partialDir,
    (name) => {
      if (name === MANIFEST_FILE || name === INVENTORY_FILE) return null;
      // Checked while listing, so an archive with entries its manifest does not name writes nothing.
      if (name === PAYLOAD_DIR) return name;
      const rel = listed.take(name);
      if (rel !== undefined) return `${PAYLOAD_DIR}/${rel}`;
      throw new IntegrityError('archive-mismatch', `${request.file}: entry ${JSON.stringify(name)} is not listed in the manifest`, {
        hint: 'the archive was altered or damaged; nothing was imported',
      });
    },
    {
      gzip,
      agentIdRoots: manifest.agentType === 'qwenpaw' ? [`${PAYLOAD_DIR}/workspaces`] : [],
      // A link the manifest lists with this target; one that leaves the root was vouched for as managed by assertLinksStayInside.
      allowSymlinks: (name, target) => (links.get(name) !== target ? false : linkStaysInside(name, target) ? true : 'managed'),
      // the manifest holds the exact bytes of a target the tar holds escaped
      linkTargetOf: (rel, archived) => targets.get(rel) ?? archived,
      ...(request.limits ? { limits: request.limits } : {}),
    },
  );
  verifyPayload(path.join(plan.partialDir, PAYLOAD_DIR), manifest, request.file, context.deps);
  const final = completeManifest({
    ...manifest,
    sandboxName: request.sandbox,
    timestamp: plan.timestamp,
    name: plan.label,
    origin: { ...manifest.origin, clawbackId: id, importedFrom: path.basename(request.file) },
    entries: manifest.entries.map(portableEntry),
  });
  const databases = manifest.entries.filter((e) => e.strategy === 'sqlite_backup').map((e) => e.path);
  return { plan, manifest: final, format: gzip ? 'tar.gz' : 'tar', databases, skipped: 0, warnings: [] };
}

/**
 * A link the manifest lists must resolve inside the payload root, as restore requires (the
 * extraction guard only keeps it inside the archive, which also holds the manifest), unless the
 * agent manifest allowlists it. Refused here, naming the links, before anything is written.
 */
function assertLinksStayInside(manifest: BundleManifest, agentManifest: AgentManifest, file: string): void {
  const allowLink = agentManifest.managedLinks.length > 0 ? picomatch(agentManifest.managedLinks, { dot: true }) : () => false;
  const unsafe = manifest.entries
    .filter((e) => e.type === 'symlink' && !linkStaysInside(e.path, e.target ?? '') && !allowLink(e.path))
    .map((e) => `${e.path} -> ${e.target ?? ''}`);
  if (unsafe.length === 0) return;
  throw new RefusedError('unsafe-links', `${file} holds ${unsafe.length} symlink(s) that are absolute or leave the snapshot's root: ${unsafe.slice(0, 3).join(', ')}${unsafe.length > 3 ? ', …' : ''}`, {
    hint: 'nothing was imported; declare them under managed_links in the agent manifest if the agent manages them itself',
    details: unsafe.slice(0, 20),
  });
}

/**
 * Every extracted path must be an entry of the manifest with the same type,
 * and every file must hash to the manifest's sha256; nothing may be missing.
 * Files get the bundle's mode (extraction wrote them 0600).
 */
function verifyPayload(payload: string, manifest: BundleManifest, file: string, deps: EngineDeps): void {
  const expected = new Map(manifest.entries.map((e) => [e.path, e]));
  const seen = new Set<string>();
  let done = { files: 0, bytes: 0 };
  const fail: (why: string) => never = (why) => {
    throw new IntegrityError('archive-mismatch', `${file}: ${why}`, { hint: 'the archive was altered or damaged; nothing was imported' });
  };
  const walk = (dir: string, rel: string): void => {
    if (!fs.existsSync(fsPath(dir))) return;
    for (const { name, dirent } of readDirents(dir)) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const full = `${dir}/${name}`;
      const entry = expected.get(childRel);
      if (!entry) fail(`${childRel} is not listed in the manifest`);
      seen.add(childRel);
      if (entry.type === 'dir') {
        if (!dirent.isDirectory()) fail(`${childRel} should be a directory`);
        walk(full, childRel);
      } else if (entry.type === 'symlink') {
        if (!dirent.isSymbolicLink() || readLinkTarget(full) !== entry.target) fail(`${childRel} is not the symlink the manifest lists`);
      } else {
        if (!dirent.isFile()) fail(`${childRel} should be a regular file`);
        const fd = fs.openSync(fsPath(full), NO_FOLLOW);
        try {
          const { size, sha256 } = threadReader().hash(fd);
          if (size !== entry.size || sha256 !== entry.sha256) fail(`${childRel} does not match its sha256 in the manifest`);
          fs.fchmodSync(fd, bundleFileMode(entry.mode ?? 0o644));
          done = { files: done.files + 1, bytes: done.bytes + size };
        } finally {
          fs.closeSync(fd);
        }
        deps.events.progress?.(done);
      }
    }
  };
  walk(payload, '');
  const missing = manifest.entries.filter((e) => !seen.has(e.path));
  if (missing.length > 0) fail(`${missing.length} entr${missing.length === 1 ? 'y is' : 'ies are'} missing, e.g. ${missing[0]!.path}`);
}

/**
 * The archive's manifest: its header with the inventory sidecar that follows it (exports since the
 * sidecar), or one with its entries inline (older exports); either way checked like a bundle's.
 */
function archivedManifest(leading: { manifest: Buffer; inventory?: Buffer }, label: string): BundleManifest {
  const text = leading.manifest.toString('utf8');
  if (!text.includes('\n "entries": [')) {
    const header = parseBundleHeader(text, label);
    if (header.inventory !== undefined) {
      if (leading.inventory === undefined) throw corruptTar(label, `its manifest names an inventory, but ${INVENTORY_FILE} does not follow it`);
      const { entries, skipped } = collectInventory(sidecarInventory('', header.inventory, header.contentSha256 ?? '', leading.inventory));
      const { contentSha256: checksum, inventory: _ref, ...rest } = header;
      return { ...rest, entries, skipped, contentSha256: checksum ?? '' };
    }
  }
  const manifest = parseBundleManifest(text, label);
  assertContentChecksum(manifest, label);
  return manifest;
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
