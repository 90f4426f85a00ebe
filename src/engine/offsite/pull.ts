import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError, RefusedError, UsageError } from '../../errors.js';
import { fsyncDir, syncTree } from '../../store/atomic.js';
import { PARTIAL_SUFFIX } from '../../store/bundles.js';
import { removeTree } from '../../store/dirs.js';
import { sandboxBundleDir } from '../../store/home.js';
import { getSandbox } from '../../store/registry.js';
import { syncfs } from '../../store/syncfs.js';
import type { EngineDeps } from '../deps.js';
import { sandboxLock } from '../sandbox/lock.js';
import { verifyStagedBundle } from '../verify/verify.js';
import { listRemoteBundles, resolveRemote, type RemoteBundle } from './remote.js';
import type { Restic } from './restic.js';

export interface PullRequest {
  sandbox: string;
  /** One bundle; default `latest`. */
  selector?: string;
  /** Every bundle of the sandbox the repository holds (those already here are left as they are). */
  all: boolean;
}

export interface PulledBundle {
  timestamp: string;
  shortId: string;
  name: string | null;
  /** `pulled` now, or `present`: a bundle of that timestamp is here already (only with --all). */
  status: 'pulled' | 'present';
  snapshotId: string;
  files: number;
  bytes: number;
  dir: string;
  durationMs: number;
}

export interface PullSummary {
  sandbox: string;
  repo: string;
  bundles: PulledBundle[];
  pulled: number;
  present: number;
}

/**
 * Restores bundles from the repository into the sandbox's bundle dir, each through
 * `<timestamp>.partial` → verify against its own manifest → rename, under the sandbox lock: a pulled
 * bundle is a normal bundle, and a half-pulled one is never listed as a snapshot (the next command
 * that takes the lock sweeps the `.partial`).
 */
export async function pullSnapshots(request: PullRequest, restic: Restic, deps: EngineDeps): Promise<PullSummary> {
  if (request.all && request.selector !== undefined) throw new UsageError('give a selector or --all, not both');
  getSandbox(deps.layout, request.sandbox);
  const remote = await listRemoteBundles(restic, request.sandbox);
  const chosen = request.all ? remote : [resolveRemote(remote, request.selector ?? 'latest', request.sandbox, restic.repo.name)];
  const sandboxDir = sandboxBundleDir(deps.layout, request.sandbox);
  const lock = sandboxLock(deps, request.sandbox, 'snapshot pull');
  try {
    const bundles: PulledBundle[] = [];
    for (const bundle of chosen) {
      const dir = path.join(sandboxDir, bundle.timestamp);
      if (fs.existsSync(dir)) {
        if (!request.all) {
          throw new RefusedError('bundle-exists', `${request.sandbox} already has snapshot ${bundle.timestamp} here (${dir})`, {
            hint: `use it as it is (\`clawback ${request.sandbox} snapshot verify ${bundle.shortId}\`), or delete it first to pull the repository's copy`,
          });
        }
        bundles.push({ ...identity(bundle), status: 'present', files: 0, bytes: 0, dir, durationMs: 0 });
        continue;
      }
      bundles.push(await pullOne(bundle, sandboxDir, restic, deps));
    }
    return { sandbox: request.sandbox, repo: restic.repo.name, bundles, pulled: bundles.filter((b) => b.status === 'pulled').length, present: bundles.filter((b) => b.status === 'present').length };
  } finally {
    lock.release();
  }
}

function identity(bundle: RemoteBundle): Pick<PulledBundle, 'timestamp' | 'shortId' | 'name' | 'snapshotId'> {
  return { timestamp: bundle.timestamp, shortId: bundle.shortId, name: bundle.name, snapshotId: bundle.snapshotId };
}

async function pullOne(bundle: RemoteBundle, sandboxDir: string, restic: Restic, deps: EngineDeps): Promise<PulledBundle> {
  const started = deps.clock();
  const dir = path.join(sandboxDir, bundle.timestamp);
  const partial = dir + PARTIAL_SUFFIX;
  fs.mkdirSync(sandboxDir, { recursive: true, mode: 0o700 });
  removeTree(partial);
  fs.mkdirSync(partial, { mode: 0o700 });
  fsyncDir(sandboxDir);
  deps.events.phase?.(`pull ${bundle.timestamp}`);
  try {
    await restic.run(['restore', bundle.snapshotId, '--target', partial], {
      what: `restore of ${bundle.timestamp}`,
      onSpawn: () => deps.fault?.('pull:restoring'),
    });
    fs.chmodSync(partial, 0o700);
    deps.fault?.('pull:restored');
    const verified = await verifyStagedBundle(partial, bundle.timestamp, deps);
    if (!verified.ok) {
      throw new IntegrityError('pull-damaged', `the repository's copy of ${bundle.timestamp} does not verify against its manifest (${verified.problems.length} problem(s)); nothing was kept`, {
        details: verified.problems.slice(0, 20).map((p) => `${p.path || '(bundle)'}: ${p.problem}`),
        hint: `check the repository: \`clawback repo check ${restic.repo.name} --read-data-subset 10%\``,
      });
    }
    syncTree(partial, syncfs);
    deps.fault?.('pull:before-rename');
    fs.renameSync(partial, dir);
    fsyncDir(sandboxDir);
    return { ...identity(bundle), status: 'pulled', files: verified.files, bytes: verified.bytes, dir, durationMs: deps.clock() - started };
  } catch (error) {
    removeTree(partial);
    throw error;
  }
}

/**
 * For `restore --repo`: the bundle the selector names in the repository, pulled unless it is here
 * already. Returns its timestamp (the selector the local restore then uses) and whether it was pulled.
 */
export async function pullForRestore(sandbox: string, selector: string, restic: Restic, deps: EngineDeps): Promise<{ timestamp: string; pulled: boolean }> {
  getSandbox(deps.layout, sandbox);
  const bundle = resolveRemote(await listRemoteBundles(restic, sandbox), selector, sandbox, restic.repo.name);
  if (fs.existsSync(path.join(sandboxBundleDir(deps.layout, sandbox), bundle.timestamp))) return { timestamp: bundle.timestamp, pulled: false };
  await pullSnapshots({ sandbox, selector: bundle.timestamp, all: false }, restic, deps);
  return { timestamp: bundle.timestamp, pulled: true };
}
