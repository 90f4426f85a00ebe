import fs from 'node:fs';
import path from 'node:path';
import { RefusedError } from '../../errors.js';
import { fsyncDir } from '../../store/atomic.js';
import { getSandbox, type SandboxEntry } from '../../store/registry.js';
import { formatBytes } from '../../units.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest, resolveMounts } from '../sandbox/layout.js';
import { q, runRemote } from '../sandbox/remote-shell.js';
import { scanRemoteMounts } from '../sandbox/remote-scan.js';
import { Selection } from '../sandbox/selection.js';
import { isRemoteSandbox, remoteRootMissing, withSandboxTransport } from '../sandbox/transport.js';
import { finishCommitted, pendingRebuild, putOldRootBack, removeRebuildRecord, stopRecreateHook, type RebuildRecord, type RebuildRecovery } from './journal.js';
import { diskNeeds, preflightRebuild, refuseUnsafe, requireRecreateHook, statfsFree, type RebuildPreflight } from './preflight.js';

/**
 * What rebuild does to the state root itself — move it aside, look at what the recreate hook left,
 * put the old root back, delete it — on this filesystem, or as `mv`/`rm` commands in a remote
 * sandbox's target (SPEC §11). The rebuild record stays on this host and names the transport, so
 * the next clawback command rolls back or finishes an interrupted remote rebuild in its target, as
 * the remote restore's journal does. Every remote script is idempotent.
 */
export interface RootOps {
  /** root → aside, by one rename (never a copy across filesystems). */
  moveAside(record: RebuildRecord): Promise<void>;
  /** The recreate hook left a directory (not a link) at the root. */
  rootIsDirectory(root: string): Promise<boolean>;
  /** Whatever is at the root goes, the old root comes back; nothing happens when it was never moved. */
  putBack(record: RebuildRecord): Promise<void>;
  /** The old root is deleted (after the commit point). */
  finish(record: RebuildRecord): Promise<void>;
}

const SYNC = 'sync 2>/dev/null || true';

const localOps: RootOps = {
  moveAside: async (record) => {
    fs.renameSync(record.root, record.aside);
    fsyncDir(path.dirname(record.root));
  },
  rootIsDirectory: async (root) => fs.lstatSync(root, { throwIfNoEntry: false })?.isDirectory() === true,
  putBack: async (record) => putOldRootBack(record),
  finish: async (record) => finishCommitted(record),
};

function remoteOps(entry: Pick<SandboxEntry, 'via' | 'name'>, deps: EngineDeps): RootOps {
  const run = (step: string, script: string): Promise<Buffer> => withSandboxTransport(entry, deps, (shell) => runRemote(shell, step, script));
  return {
    moveAside: async ({ root, aside }) => {
      await run(`mv -T ${root} ${aside}`, [`if [ -e ${q(aside)} ] || [ -L ${q(aside)} ]; then echo "clawback: the rebuild's aside name is in the way" >&2; exit 3; fi`, `mv -T -- ${q(root)} ${q(aside)}`, SYNC].join('\n'));
    },
    rootIsDirectory: async (root) =>
      withSandboxTransport(entry, deps, async (shell) => (await shell.exec(`[ -d ${q(root)} ] && [ ! -L ${q(root)} ]`)).code === 0),
    putBack: async ({ root, aside }) => {
      await run(`mv -T ${aside} ${root}`, [`if [ -e ${q(aside)} ]; then rm -rf -- ${q(root)}; mv -T -- ${q(aside)} ${q(root)}; fi`, SYNC].join('\n'));
    },
    finish: async ({ aside }) => {
      await run(`rm -rf ${aside}`, [`rm -rf -- ${q(aside)}`, SYNC].join('\n'));
    },
  };
}

/** The root operations for a sandbox (or an interrupted rebuild's record, which names its transport). */
export function rootOps(target: Pick<SandboxEntry, 'via' | 'name'>, deps: EngineDeps): RootOps {
  return isRemoteSandbox(target) ? remoteOps(target, deps) : localOps;
}

/** The preflight of either kind: a remote sandbox is checked in its target. */
export async function preflightAny(sandbox: string, deps: EngineDeps): Promise<RebuildPreflight> {
  const entry = getSandbox(deps.layout, sandbox);
  return isRemoteSandbox(entry) ? preflightRemote(entry, deps) : preflightRebuild(sandbox, deps);
}

/**
 * A remote rebuild's checks, from one remote scan: a recreate hook, a root that is a directory on its
 * parent's filesystem (it moves aside by a rename), content the snapshot accepts, and free space in
 * the clawback home for the snapshot. The target's free space is not measured (its `df` differs
 * between images); a restore that runs out of space there fails before its swap and rolls back.
 */
async function preflightRemote(entry: SandboxEntry, deps: EngineDeps): Promise<RebuildPreflight> {
  requireRecreateHook(entry);
  const manifest = loadAgentManifest(entry.agent);
  const mounts = resolveMounts(entry, manifest, deps.host.homeDir);
  const root = entry.root;
  return withSandboxTransport(entry, deps, async (shell) => {
    const { scan, listing } = await scanRemoteMounts(shell, mounts, new Selection(manifest, mounts, {}), manifest.managedLinks);
    const rootStat = listing.stats.get(root);
    if (!rootStat?.isDirectory()) throw remoteRootMissing(entry);
    const parentDev = Number((await runRemote(shell, `stat -c %d ${path.posix.dirname(root)}`, `stat -c %d -- ${q(path.posix.dirname(root))}`)).toString('utf8').trim());
    if (parentDev !== rootStat.dev) {
      throw new RefusedError('root-is-mount-point', `${root} is a mount point in ${entry.via}; rebuild moves the root aside with a rename, which cannot cross filesystems`, {
        hint: 'register the directory inside the mount as the root, or rebuild by hand with snapshot create / restore',
      });
    }
    refuseUnsafe(entry.name, scan);
    const { files: stateFiles, bytes: stateBytes } = scan.entries.fileTotals();
    const disk = diskNeeds([{ dir: deps.layout.bundlesRoot, bytes: stateBytes }], statfsFree);
    const short = disk.filter((d) => d.freeBytes < d.needBytes);
    if (short.length > 0) {
      throw new RefusedError('disk-space', `not enough free disk space to snapshot ${entry.name} before its rebuild`, {
        hint: 'free some space (or prune old snapshots) and try again',
        details: short.map((d) => `${d.dir}: ${formatBytes(d.freeBytes)} free, ${formatBytes(d.needBytes)} needed`),
      });
    }
    return { entry, root, stateFiles, stateBytes, disk };
  });
}

/**
 * Finishes (committed) or rolls back (moved) an interrupted remote rebuild in its target; undefined
 * when the sandbox has no rebuild record or a local one. An unreachable target is an exit-8 error and
 * the record stays for a later command.
 */
export async function recoverRemoteRebuild(deps: EngineDeps, sandbox: string): Promise<RebuildRecovery | undefined> {
  const record = pendingRebuild(deps, sandbox);
  if (record?.via === undefined) return undefined;
  const ops = remoteOps({ via: record.via, name: sandbox }, deps);
  if (record.state === 'committed') await ops.finish(record);
  else {
    stopRecreateHook(record, deps);
    await ops.putBack(record);
  }
  removeRebuildRecord(deps.layout, sandbox);
  return { sandbox, action: record.state === 'committed' ? 'completed' : 'rolled-back', record };
}
