import path from 'node:path';
import { RefusedError } from '../errors.js';
import { nameEncodingProblem } from './fs-path.js';

/**
 * Why a relative path is not acceptable as an entry of a bundle or of clawback's own
 * archive, or undefined when it is a normalised relative POSIX path. Every name POSIX
 * allows is accepted (backslashes, `c:` and bytes that are not UTF-8 included): a
 * bundle must hold whatever the scan found.
 */
export function relativePathProblem(rel: string): string | undefined {
  if (rel.length === 0) return 'empty path';
  if (rel.includes('\0')) return 'contains NUL';
  if (rel.startsWith('/')) return 'is absolute';
  const parts = rel.split('/');
  for (const part of parts) {
    if (part === '..') return "contains '..'";
    if (part === '.' || part === '') return 'is not normalised';
  }
  return nameEncodingProblem(rel);
}

/**
 * The stricter rule for archives from other systems (QwenPaw zips, which Windows may
 * have written): no backslash, no drive letter, on top of relativePathProblem.
 */
export function foreignPathProblem(rel: string): string | undefined {
  if (rel.includes('\\')) return 'contains a backslash';
  if (/^[A-Za-z]:/.test(rel)) return 'has a drive letter';
  return relativePathProblem(rel);
}

export function assertRelativePath(rel: string, what = 'path', problemOf = relativePathProblem): void {
  const problem = problemOf(rel);
  if (problem) throw new RefusedError('unsafe-path', `${what} ${JSON.stringify(rel)} ${problem}`);
}

/** The one containment-checking join: root + a relative POSIX path, refusing anything that could leave root. */
export function safeJoin(root: string, rel: string): string {
  assertRelativePath(rel);
  const joined = path.join(root, ...rel.split('/'));
  const back = path.relative(root, joined);
  if (back.startsWith('..') || path.isAbsolute(back)) {
    throw new RefusedError('unsafe-path', `path ${JSON.stringify(rel)} leaves ${root}`);
  }
  return joined;
}

/** True if a symlink at `linkRel` pointing to `target` resolves inside the root (purely lexical). */
export function linkStaysInside(linkRel: string, target: string): boolean {
  if (target.length === 0 || target.includes('\0')) return false;
  if (path.posix.isAbsolute(target)) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkRel), target));
  return !(resolved === '..' || resolved.startsWith('../') || resolved.startsWith('/'));
}

/**
 * Checks a list of entries the way restore and import must: every path normalised,
 * no duplicates, no entry below an earlier symlink entry.
 */
export function checkEntryList(entries: ReadonlyArray<{ path: string; type: string }>): string | undefined {
  const seen = new Set<string>();
  const links: string[] = [];
  for (const entry of entries) {
    const problem = relativePathProblem(entry.path);
    if (problem) return `entry ${JSON.stringify(entry.path)} ${problem}`;
    if (seen.has(entry.path)) return `duplicate entry ${JSON.stringify(entry.path)}`;
    seen.add(entry.path);
    if (entry.type === 'symlink') links.push(entry.path);
  }
  if (links.length === 0) return undefined;
  const linkSet = new Set(links);
  for (const entry of entries) {
    for (let slash = entry.path.indexOf('/'); slash > 0; slash = entry.path.indexOf('/', slash + 1)) {
      const ancestor = entry.path.slice(0, slash);
      if (linkSet.has(ancestor)) return `entry ${JSON.stringify(entry.path)} lies below the symlink ${JSON.stringify(ancestor)}`;
    }
  }
  return undefined;
}
