import { posix } from 'node:path';
import { getOwn, isRecord } from './values.js';

/**
 * OpenClaw's `$include` (src/config/includes.ts upstream): an object whose `$include` is a path, or a
 * list of paths, takes the included file's content at that object's place (sibling keys laid over it).
 * Relative paths are resolved from the including file; includes nest up to 10 levels. OpenClaw itself
 * confines them to the config's directory unless OPENCLAW_INCLUDE_ROOTS names more roots.
 */
export const INCLUDE_KEY = '$include';
export const MAX_INCLUDE_DEPTH = 10;

/** An included file inside the state root and the key path in the root config where its content sits. */
export interface IncludeRef {
  /** Normalised, relative to the state root. */
  file: string;
  at: readonly string[];
}

export interface IncludeRefs {
  inside: IncludeRef[];
  /** As written: absolute paths and paths leaving the root. Never read. */
  outside: string[];
}

/**
 * The `$include` references in one parsed file. `file` is that file's path relative to the state
 * root and `at` the key path its content has in the root config. Inside arrays a reference has no key
 * path a merge rule could name, so it is merged at the array's own path.
 */
export function includeRefs(parsed: unknown, file: string, at: readonly string[] = []): IncludeRefs {
  const refs: IncludeRefs = { inside: [], outside: [] };
  visit(parsed, at, posix.dirname(file), refs);
  return refs;
}

function visit(value: unknown, at: readonly string[], dir: string, refs: IncludeRefs): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, at, dir, refs);
    return;
  }
  if (!isRecord(value)) return;
  const include = getOwn(value, INCLUDE_KEY);
  for (const written of typeof include === 'string' ? [include] : Array.isArray(include) ? include : []) {
    if (typeof written !== 'string') continue;
    const file = resolveInside(dir, written);
    if (file === undefined) refs.outside.push(written);
    else refs.inside.push({ file, at });
  }
  for (const key of Object.keys(value)) if (key !== INCLUDE_KEY) visit(value[key], [...at, key], dir, refs);
}

/** The root-relative path an include names, or undefined when it is absolute or leaves the root. */
export function resolveInside(dir: string, written: string): string | undefined {
  if (written === '' || written.includes('\0') || written.includes('\\') || posix.isAbsolute(written) || written.startsWith('~')) return undefined;
  const joined = posix.normalize(posix.join(dir, written));
  if (joined === '.' || joined === '..' || joined.startsWith('../') || posix.isAbsolute(joined)) return undefined;
  return joined;
}

/**
 * Every include reachable from a root config, breadth first, each file once (the first key path it
 * was found at wins). `read` returns a file's parsed content, or undefined when it is missing or
 * does not parse: the merge of that file reports the parse error itself.
 */
export function discoverIncludes(root: string, read: (file: string) => unknown[]): IncludeRefs {
  const found = new Map<string, IncludeRef>();
  const outside = new Set<string>();
  let level: IncludeRef[] = [{ file: root, at: [] }];
  for (let depth = 0; depth <= MAX_INCLUDE_DEPTH && level.length > 0; depth++) {
    const next: IncludeRef[] = [];
    for (const ref of level) {
      for (const parsed of read(ref.file)) {
        const refs = includeRefs(parsed, ref.file, ref.at);
        for (const o of refs.outside) outside.add(o);
        for (const inner of refs.inside) {
          if (inner.file === root || found.has(inner.file)) continue;
          found.set(inner.file, inner);
          next.push(inner);
        }
      }
    }
    level = next;
  }
  return { inside: [...found.values()], outside: [...outside] };
}
