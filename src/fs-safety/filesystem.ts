import fs from 'node:fs';
import path from 'node:path';

/** Where a path's filesystem is mounted and how much room it has left, for messages about a full disk. */
export interface FilesystemFacts {
  mountPoint: string;
  freeBytes: number;
  freeInodes: number;
}

/** The nearest ancestor of `target` (itself included) that exists, or undefined when none can be seen. */
export function existingAncestor(target: string): string | undefined {
  let current = path.resolve(target);
  for (;;) {
    if (fs.lstatSync(current, { throwIfNoEntry: false })) return current;
    const up = path.dirname(current);
    if (up === current) return undefined;
    current = up;
  }
}

/**
 * The filesystem holding `target`: its mount point is the highest ancestor on the same device.
 * Undefined when it cannot be examined (the caller is already reporting an error about it).
 */
export function filesystemOf(target: string): FilesystemFacts | undefined {
  try {
    const start = existingAncestor(target);
    if (start === undefined) return undefined;
    const dev = fs.statSync(start).dev;
    let mountPoint = start;
    for (;;) {
      const up = path.dirname(mountPoint);
      if (up === mountPoint || fs.statSync(up).dev !== dev) break;
      mountPoint = up;
    }
    const stats = fs.statfsSync(start);
    return { mountPoint, freeBytes: stats.bavail * stats.bsize, freeInodes: stats.ffree };
  } catch {
    return undefined;
  }
}

/** The first existing ancestor of `target` that is not a directory (what an ENOTDIR is about). */
export function nonDirectoryAncestor(target: string): string | undefined {
  let current = path.resolve(target);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(current);
    const up = path.dirname(current);
    if (up === current) break;
    current = up;
  }
  try {
    for (const candidate of chain) {
      const stat = fs.statSync(candidate, { throwIfNoEntry: false });
      if (stat === undefined) return undefined;
      if (!stat.isDirectory()) return candidate;
    }
  } catch {
    // A parent we may not search: nothing more to say than the error itself.
  }
  return undefined;
}
