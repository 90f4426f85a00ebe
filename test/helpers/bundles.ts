import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { gzipMember } from '../../src/manifest/inventory.js';

export function sandboxDir(home: string, sandbox: string): string {
  return path.join(home, 'rebuild-backups', sandbox);
}

/**
 * Bundle directory names on disk (complete and .partial), sorted. Hidden entries are clawback's
 * bookkeeping (the space cache) and are left out, except with `scratch`: then the import and delete
 * scratch dirs a user would find (`.import-*`, `.deleting-*`) are listed too.
 */
export function bundleIds(home: string, sandbox: string, options: { scratch?: boolean } = {}): string[] {
  const dir = sandboxDir(home, sandbox);
  if (!fs.existsSync(dir)) return [];
  const shown = (name: string): boolean => !name.startsWith('.') || (options.scratch === true && (name.startsWith('.import-') || name.startsWith('.deleting-')));
  return fs.readdirSync(dir).filter(shown).sort();
}

export function payloadPath(home: string, sandbox: string, id: string, rel: string): string {
  return path.join(sandboxDir(home, sandbox), id, 'payload', ...rel.split('/'));
}

/** Invert one byte of a file in place: the inode stays (other bundles may share it by hard link). */
export function flipByte(file: string, offset = 0): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    fs.writeSync(fd, byte, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Regular files of a bundle's payload that no other path links to (nlink 1), with their sizes. */
export function unlinkedPayloadFiles(bundleDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (current: string, rel: string): void => {
    for (const name of fs.readdirSync(current)) {
      const full = path.join(current, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const stat = fs.lstatSync(full);
      if (stat.isDirectory()) walk(full, childRel);
      else if (stat.isFile() && stat.nlink === 1) out.set(childRel, stat.size);
    }
  };
  walk(path.join(bundleDir, 'payload'), '');
  return out;
}

/**
 * Edit a bundle's inventory sidecar as text (one JSON line per entry, then the skipped paths) and
 * write it back as clawback would (one gzip member); with `fixSha` (the default) the header's
 * sha256 is made to match, as a careful attacker would, so only the lines themselves can give it away.
 */
export function rewriteInventory(dir: string, edit: (text: string) => string, options: { fixSha?: boolean; entries?: number } = {}): void {
  const file = path.join(dir, 'rebuild-inventory.jsonl.gz');
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  const bytes = gzipMember(Buffer.from(edit(text), 'utf8'));
  fs.writeFileSync(file, bytes);
  if (options.fixSha === false && options.entries === undefined) return;
  const headerFile = path.join(dir, 'rebuild-manifest.json');
  const header = JSON.parse(fs.readFileSync(headerFile, 'utf8')) as { inventory: { sha256: string; entries: number } };
  if (options.fixSha !== false) header.inventory.sha256 = createHash('sha256').update(bytes).digest('hex');
  if (options.entries !== undefined) header.inventory.entries = options.entries;
  fs.writeFileSync(headerFile, JSON.stringify(header, null, 1) + '\n');
}

/**
 * A bundle's manifest as one JSON document, as it read before the inventory moved to its sidecar:
 * the header's fields, with `entries` and `skipped` read from `rebuild-inventory.jsonl.gz` when
 * the header points at one.
 */
export function manifestJson(dir: string): Record<string, unknown> {
  const header = JSON.parse(fs.readFileSync(path.join(dir, 'rebuild-manifest.json'), 'utf8')) as Record<string, unknown>;
  const ref = header.inventory as { file: string; entries: number } | undefined;
  if (ref === undefined) return header;
  const lines = zlib.gunzipSync(fs.readFileSync(path.join(dir, ref.file))).toString('utf8').split('\n').filter((l) => l !== '');
  const parsed = lines.map((l) => JSON.parse(l) as unknown);
  return { ...header, entries: parsed.slice(0, ref.entries), skipped: parsed.slice(ref.entries) };
}
