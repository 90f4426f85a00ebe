import fs from 'node:fs';

/*
 * POSIX names are bytes. clawback carries them as strings: valid UTF-8 decodes as
 * itself, and each byte that is not part of valid UTF-8 becomes the lone surrogate
 * U+DC80–U+DCFF (Python's "surrogateescape"). Valid UTF-8 never decodes to a lone
 * surrogate, so the mapping is a bijection, and JSON keeps lone surrogates as
 * `\udcXX` escapes. Every fs call on a live or payload path goes through fsPath.
 */

const ESCAPED = /[\uDC80-\uDCFF]/u;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** True when the name holds bytes that are not UTF-8 (escaped as lone surrogates). */
export function hasEscapedBytes(name: string): boolean {
  return ESCAPED.test(name);
}

/** The bytes a name stands for. */
export function encodeName(name: string): Buffer {
  if (!LONE_SURROGATE.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  for (const char of name) {
    const code = char.codePointAt(0)!;
    parts.push(code >= 0xdc80 && code <= 0xdcff ? Buffer.of(code - 0xdc00) : Buffer.from(char, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** The path to hand to node:fs: the string itself, or its exact bytes when it holds escaped bytes. */
export function fsPath(name: string): string | Buffer {
  return hasEscapedBytes(name) ? encodeName(name) : name;
}

/** Length of the valid UTF-8 sequence at `i`, or 0 when the byte there does not start one. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const [length, low, high] = b0 >= 0xc2 && b0 <= 0xdf ? [2, 0x80, 0xbf]
    : b0 === 0xe0 ? [3, 0xa0, 0xbf]
    : b0 === 0xed ? [3, 0x80, 0x9f]
    : b0 >= 0xe1 && b0 <= 0xef ? [3, 0x80, 0xbf]
    : b0 === 0xf0 ? [4, 0x90, 0xbf]
    : b0 >= 0xf1 && b0 <= 0xf3 ? [4, 0x80, 0xbf]
    : b0 === 0xf4 ? [4, 0x80, 0x8f]
    : [0, 0, 0];
  if (length === 0 || i + length > bytes.length) return 0;
  const b1 = bytes[i + 1]!;
  if (b1 < low || b1 > high) return 0;
  for (let k = 2; k < length; k++) if (bytes[i + k]! < 0x80 || bytes[i + k]! > 0xbf) return 0;
  return length;
}

/** A name's bytes as clawback's string: UTF-8, with undecodable bytes escaped. */
export function decodeName(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  // every invalid sequence decodes to U+FFFD, so without one the bytes were valid UTF-8
  if (!text.includes('\uFFFD')) return text;
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 + bytes[i]!);
      i++;
    } else {
      out += bytes.subarray(i, i + length).toString('utf8');
      i += length;
    }
  }
  return out;
}

/** Why a string cannot stand for a name's bytes (a surrogate decodeName would never produce), or undefined. */
export function nameEncodingProblem(name: string): string | undefined {
  if (!LONE_SURROGATE.test(name)) return undefined;
  return decodeName(encodeName(name)) === name ? undefined : 'holds a surrogate that stands for no byte';
}

/** A name for people: escaped bytes as `\xff`, everything else as it is. */
export function displayName(name: string): string {
  if (!hasEscapedBytes(name)) return name;
  return name.replace(/[\uDC80-\uDCFF]/gu, (char) => `\\x${(char.charCodeAt(0) - 0xdc00).toString(16)}`);
}

/** A directory's entries by name, every name read as bytes. */
export function readNames(dir: string): string[] {
  return fs.readdirSync(fsPath(dir), { encoding: 'buffer' }).map(decodeName);
}

export interface NamedDirent {
  name: string;
  dirent: fs.Dirent<Buffer>;
}

/** A directory's dirents, every name read as bytes. */
export function readDirents(dir: string): NamedDirent[] {
  return fs.readdirSync(fsPath(dir), { encoding: 'buffer', withFileTypes: true }).map((dirent) => ({ name: decodeName(dirent.name), dirent }));
}

/** A symlink's target, read as bytes. */
export function readLinkTarget(link: string): string {
  return decodeName(fs.readlinkSync(fsPath(link), { encoding: 'buffer' }));
}
