import fs from 'node:fs';
import path from 'node:path';
import { NotFoundError, RefusedError } from '../../errors.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { scanMounts, type ScanResult } from '../sandbox/scan.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { Selection } from '../sandbox/selection.js';
import { isRemoteSandbox } from '../sandbox/transport.js';
import { formatBytes } from '../../units.js';

export interface RebuildPreflight {
  entry: SandboxEntry;
  root: string;
  /** What the pre-rebuild snapshot will capture. */
  stateFiles: number;
  stateBytes: number;
  /** Free bytes per filesystem that the rebuild writes to, with what it needs there. */
  disk: DiskNeed[];
}

export interface DiskNeed {
  /** A directory on the filesystem (the first that exists on the way up). */
  dir: string;
  dev: number;
  needBytes: number;
  freeBytes: number;
}

const MAX_LISTED = 20;

/**
 * Everything rebuild checks before it touches the agent: the entry and its recreate hook, a root
 * that is a directory on the same filesystem as its parent (it is moved aside by a rename), content
 * the snapshot will accept, and free space for the snapshot plus the restore's staged copy.
 * Reads only.
 */
export function preflightRebuild(sandbox: string, deps: EngineDeps, freeBytes: (dir: string) => number = statfsFree): RebuildPreflight {
  const entry = getSandbox(deps.layout, sandbox);
  requireRecreateHook(entry);
  if (isRemoteSandbox(entry)) {
    // This preflight reads local paths: a remote sandbox is checked in its target (remote-root.ts), never at a local path of the same name.
    throw new Error(`preflightRebuild called for ${sandbox}, which is reached via ${entry.via}`);
  }
  const root = path.resolve(entry.root);
  const rootStat = fs.lstatSync(root, { throwIfNoEntry: false });
  if (!rootStat?.isDirectory()) {
    throw new NotFoundError('root-not-found', `state root ${root} of ${sandbox} does not exist or is not a directory`, {
      hint: `check the path, or fix it with \`clawback sandbox set ${sandbox} --root DIR\``,
    });
  }
  const parent = path.dirname(root);
  if (fs.statSync(parent).dev !== rootStat.dev) {
    throw new RefusedError('root-is-mount-point', `${root} is a mount point; rebuild moves the root aside with a rename, which cannot cross filesystems`, {
      hint: 'register the directory inside the mount as the root, or rebuild by hand with snapshot create / restore',
    });
  }

  const manifest = loadAgentManifest(entry.agent);
  const mounts = resolveMounts(entry, manifest, deps.host.homeDir);
  const scan = scanMounts(mounts, new Selection(manifest, mounts, {}), manifest.managedLinks);
  refuseUnsafe(sandbox, scan);
  const { files: stateFiles, bytes: stateBytes } = scan.entries.fileTotals();

  // The snapshot lands in the home; the restore stages a full copy beside the root.
  const disk = diskNeeds([{ dir: deps.layout.bundlesRoot, bytes: stateBytes }, { dir: parent, bytes: stateBytes }], freeBytes);
  const short = disk.filter((d) => d.freeBytes < d.needBytes);
  if (short.length > 0) {
    throw new RefusedError('disk-space', `not enough free disk space to rebuild ${sandbox} safely`, {
      hint: 'free some space (or prune old snapshots) and try again',
      details: short.map((d) => `${d.dir}: ${formatBytes(d.freeBytes)} free, ${formatBytes(d.needBytes)} needed`),
    });
  }
  return { entry, root, stateFiles, stateBytes, disk };
}

export function requireRecreateHook(entry: SandboxEntry): void {
  if (entry.hooks.recreate !== undefined) return;
  throw new RefusedError('recreate-hook-missing', `${entry.name} has no recreate hook, so rebuild cannot lay down a fresh home`, {
    hint: `set one with \`clawback sandbox set ${entry.name} --hook-recreate CMD\` (a command that creates a fresh agent home at $CLAWBACK_ROOT)`,
  });
}

/** A rebuild whose snapshot would refuse entries stops before anything is touched (local and remote alike). */
export function refuseUnsafe(sandbox: string, scan: Pick<ScanResult, 'unsafeLinks' | 'specialFiles'>): void {
  const refused = [...scan.unsafeLinks, ...scan.specialFiles];
  if (refused.length > 0) {
    throw new RefusedError('unsafe-links', `refusing to rebuild ${sandbox}: its snapshot would refuse ${refused.length} unsafe entr${refused.length === 1 ? 'y' : 'ies'} (absolute or escaping symlinks, FIFOs, devices)`, {
      hint: 'make the links relative and inside the root, or, if the agent manages them itself, declare them under managed_links in a custom manifest (`clawback manifest show <kind>` prints one to start from)',
      details: refused.slice(0, MAX_LISTED),
    });
  }
}

/** Adds up what each filesystem must hold: two needs on one filesystem need their sum there. */
export function diskNeeds(needs: Array<{ dir: string; bytes: number }>, freeBytes: (dir: string) => number): DiskNeed[] {
  const byDev = new Map<number, DiskNeed>();
  for (const need of needs) {
    const dir = existingAncestor(need.dir);
    const dev = fs.statSync(dir).dev;
    const known = byDev.get(dev);
    if (known) known.needBytes += need.bytes;
    else byDev.set(dev, { dir, dev, needBytes: need.bytes, freeBytes: freeBytes(dir) });
  }
  return [...byDev.values()];
}

function existingAncestor(dir: string): string {
  let current = path.resolve(dir);
  while (!fs.existsSync(current)) {
    const up = path.dirname(current);
    if (up === current) break;
    current = up;
  }
  return current;
}

export function statfsFree(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}

