import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface TreeItem {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  sha256?: string;
  target?: string;
}

/** Everything a user would notice in a tree: paths, types, bytes, permission bits, link targets. */
export function readTree(root: string, skip: (rel: string) => boolean = () => false): Map<string, TreeItem> {
  const out = new Map<string, TreeItem>();
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (skip(childRel)) continue;
      const full = path.join(dir, name);
      const stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) out.set(childRel, { type: 'symlink', mode: 0, target: fs.readlinkSync(full) });
      else if (stat.isDirectory()) {
        out.set(childRel, { type: 'dir', mode: stat.mode & 0o7777 });
        walk(full, childRel);
      } else out.set(childRel, { type: 'file', mode: stat.mode & 0o7777, sha256: createHash('sha256').update(fs.readFileSync(full)).digest('hex') });
    }
  };
  walk(root, '');
  return out;
}

export function treeDigest(root: string, skip?: (rel: string) => boolean): string {
  const hash = createHash('sha256');
  for (const [rel, item] of readTree(root, skip)) hash.update(JSON.stringify([rel, item]) + '\n');
  return hash.digest('hex');
}
