import { createHash, type Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { IntegrityError } from '../errors.js';
import { relativePathProblem } from '../fs-safety/safe-path.js';

/** node:zlib, loaded on first use: a list that reads headers only never needs it (~4 ms to load). */
let loadedZlib: typeof import('node:zlib') | undefined;
function zlibModule(): typeof import('node:zlib') {
  return (loadedZlib ??= createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib'));
}

/** The inventory sidecar beside `rebuild-manifest.json`: one JSON entry per line, gzipped. */
export const INVENTORY_FILE = 'rebuild-inventory.jsonl.gz';

/** What the header says about its inventory: the sidecar's name, how many lines of each kind, and the sha256 of its bytes. */
export interface InventoryRef {
  file: string;
  entries: number;
  skipped: number;
  sha256: string;
}

export function inventoryDamaged(file: string, what: string): IntegrityError {
  return new IntegrityError('inventory-damaged', `${file}: ${what}`, {
    hint: "the bundle's inventory was edited, truncated or damaged; choose another bundle (`snapshot list`)",
  });
}

/**
 * The inventory is a series of gzip members (RFC 1952 allows any number; gzip, zcat and every
 * gunzip read them as one stream). Each member carries its own total length in an extra field
 * (subfield "CW"), so a reader can take one member at a time without a streaming inflater, and
 * holds at most one member's text in memory.
 */
const MEMBER_HEAD = 20;
const SUBFIELD = [0x43, 0x57];

export function gzipMember(text: Buffer): Buffer {
  const body = zlibModule().deflateRawSync(text, { level: 6 });
  const member = Buffer.allocUnsafe(MEMBER_HEAD + body.length + 8);
  member.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 8, 0, SUBFIELD[0]!, SUBFIELD[1]!, 4, 0], 0);
  member.writeUInt32LE(member.length, 16);
  body.copy(member, MEMBER_HEAD);
  member.writeUInt32LE(zlibModule().crc32(text), MEMBER_HEAD + body.length);
  member.writeUInt32LE(text.length % 2 ** 32, MEMBER_HEAD + body.length + 4);
  return member;
}

/** The total length of the member whose first 20 bytes are `head`; throws when it is not one of ours. */
export function memberLength(head: Buffer, file: string): number {
  const ours = head.length === MEMBER_HEAD && head[0] === 0x1f && head[1] === 0x8b && head[2] === 8 && head[3] === 4 && head[12] === SUBFIELD[0] && head[13] === SUBFIELD[1];
  if (!ours) throw inventoryDamaged(file, 'is not an inventory written by clawback');
  const length = head.readUInt32LE(16);
  if (length < MEMBER_HEAD + 8) throw inventoryDamaged(file, 'has a damaged block');
  return length;
}

export function gunzipMember(member: Buffer, file: string): Buffer {
  let text: Buffer;
  try {
    text = zlibModule().inflateRawSync(member.subarray(MEMBER_HEAD, member.length - 8));
  } catch (error) {
    throw inventoryDamaged(file, `does not decompress (${(error as Error).message})`);
  }
  if (zlibModule().crc32(text) !== member.readUInt32LE(member.length - 8) || text.length % 2 ** 32 !== member.readUInt32LE(member.length - 4)) {
    throw inventoryDamaged(file, 'has a block whose checksum does not match');
  }
  return text;
}

/**
 * The order every inventory keeps: paths strictly increasing (as JavaScript compares strings, the
 * order contentSha256 has always been computed in), each a normalised relative path, none below a
 * symlink entry. Streaming readers and the writer check it line by line.
 */
export class EntryOrder {
  private last: string | undefined;
  private readonly links = new Set<string>();

  /** The problem with the next entry, or undefined; `unsafe` when the path itself is the problem (not the order). */
  problem(path: string, type: string): { unsafe: boolean; text: string } | undefined {
    if (this.last !== undefined && !(this.last < path)) return { unsafe: false, text: `entry ${JSON.stringify(path)} is out of order (after ${JSON.stringify(this.last)})` };
    const bad = relativePathProblem(path);
    if (bad) return { unsafe: true, text: `entry ${JSON.stringify(path)} ${bad}` };
    if (this.links.size > 0) {
      for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
        const ancestor = path.slice(0, slash);
        if (this.links.has(ancestor)) return { unsafe: true, text: `entry ${JSON.stringify(path)} lies below the symlink ${JSON.stringify(ancestor)}` };
      }
    }
    this.last = path;
    if (type === 'symlink') this.links.add(path);
    return undefined;
  }
}

/** sha256 over the inventory's bytes, fed as they are written or read. */
export function fileHash(): Hash {
  return createHash('sha256');
}
