import type { Command } from 'commander';
import type { Act, CliContext, GlobalOptions } from '../context.js';
import { emit } from '../output.js';
import { plainArgs } from '../plain-args.js';

async function listRemote(ctx: CliContext, sandbox: string, repo: string): Promise<void> {
  const { resticFor } = await import('./repo-access.js');
  const { listRemoteBundles } = await import('../../engine/offsite/remote.js');
  const { sandboxRecords } = await import('../../engine/bundle/find.js');
  const localTimestamps = new Set(sandboxRecords(sandbox, ctx.deps).filter((r) => r.state === 'complete').map((r) => r.timestamp));
  const bundles = await listRemoteBundles(await resticFor(ctx, repo), sandbox);
  const list = { sandbox, repo, bundles, localTimestamps };
  const presentRemote = await import('../present/snapshot-list-repo.js');
  emit(ctx, presentRemote.json(list), (view) => presentRemote.text(list, view));
}

/** The local list: each bundle with the bytes only it holds, and the real disk use (also main's plain list, plainList). */
export async function listLocal(ctx: CliContext, sandbox: string, exact: boolean): Promise<void> {
  // Both module graphs load at once, not one after the other.
  const [present, { listSnapshotsWithSpace }] = await Promise.all([import('../present/snapshot-list.js'), import('../../engine/inspect/list.js')]);
  const { snapshots, diskUsage } = await listSnapshotsWithSpace(sandbox, ctx.deps, { exact });
  const result = { sandbox, snapshots, diskUsage };
  emit(ctx, present.json(result), (view) => present.text(result, view));
}

/** A plain local list (`<name> snapshot list [--exact]`), which main runs without commander (plain-args.ts). */
export function plainList(argv: readonly string[]): { sandbox: string; globals: GlobalOptions; exact: boolean } | undefined {
  const plain = plainArgs(argv, 'snapshot-list', ['--exact'], 0);
  return plain === undefined ? undefined : { sandbox: plain.sandbox, globals: plain.globals, exact: plain.flags.has('--exact') };
}

export function registerSnapshotList(program: Command, act: Act): void {
  program
    .command('snapshot-list <sandbox>', { hidden: true })
    .description('list the snapshots of a sandbox, with the bytes only each one holds and the real disk use')
    .option('--exact', 'count shared files by inode (lstat of every payload file) instead of from the manifests')
    .option('--repo <name>', 'list the snapshots a restic repository holds instead (`clawback repo add`)')
    .action(
      act(async (ctx, sandbox: string, flags: { exact?: boolean; repo?: string }) => {
        if (flags.repo !== undefined) return listRemote(ctx, sandbox, flags.repo);
        return listLocal(ctx, sandbox, flags.exact === true);
      }),
    );
}
