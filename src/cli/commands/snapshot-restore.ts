import path from 'node:path';
import type { Command } from 'commander';
import type { RestoreRequest } from '../../engine/restore/restore.js';
import { confirm } from '../confirm.js';
import { expandHome, type Act, type CliContext } from '../context.js';
import { emit } from '../output.js';
import * as present from '../present/snapshot-restore.js';
import { csv } from './options.js';

interface RestoreFlags {
  to?: string;
  root?: string;
  force?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  only?: string[];
  agent?: string[];
  newAgentRoot?: string;
  preRestore?: boolean;
}

function requestOf(ctx: CliContext, sandbox: string, selector: string | undefined, flags: RestoreFlags): RestoreRequest {
  const resolve = (dir: string): string => path.resolve(ctx.io.cwd, expandHome(dir, ctx.io.homedir));
  return {
    sandbox,
    selector: selector ?? 'latest',
    force: flags.force === true,
    dryRun: flags.dryRun === true,
    noPreRestore: flags.preRestore === false,
    ...(flags.to !== undefined ? { to: flags.to } : {}),
    ...(flags.root !== undefined ? { toRoot: resolve(flags.root) } : {}),
    ...(flags.only ? { only: flags.only } : {}),
    ...(flags.agent ? { agents: flags.agent } : {}),
    ...(flags.newAgentRoot !== undefined ? { newAgentRoot: resolve(flags.newAgentRoot) } : {}),
  };
}

export function registerSnapshotRestore(program: Command, act: Act): void {
  program
    .command('snapshot-restore <sandbox> [selector]', { hidden: true })
    .description('restore a snapshot (default: latest); a pre-restore snapshot is taken first')
    .option('--to <other>', 'restore into another sandbox (registered if unknown)')
    .option('--root <dir>', 'with --to a new name: its state root (default <home>/sandboxes/<other>)')
    .option('--force', 'restore over an existing --to sandbox or a non-empty --root')
    .option('--yes', 'do not ask for confirmation')
    .option('--dry-run', 'print what would be replaced, added, removed and kept; change nothing')
    .option('--only <modules>', 'restore only these modules (comma-separated); the rest stays as it is', csv)
    .option('--agent <ids>', 'restore only these agents (comma-separated)', csv)
    .option('--new-agent-root <dir>', 'where agents not on this host go (default <root>/workspaces/<id>)')
    .option('--no-pre-restore', 'skip the safety snapshot of the current state')
    .action(
      act(async (ctx, sandbox: string, selector: string | undefined, flags: RestoreFlags) => {
        const { restoreSnapshot, restoreConfirmation } = await import('../../engine/restore/restore.js');
        const request = requestOf(ctx, sandbox, selector, flags);
        const needed = restoreConfirmation(request, ctx.deps);
        if (needed !== undefined && flags.yes !== true) await confirm(ctx, present.confirmation(needed));
        request.confirmed = true;
        // Ctrl-C from here on rolls the restore back (exit 130) or, once it is committed, lets it finish.
        const release = request.dryRun ? undefined : ctx.io.interrupts?.takeOver();
        const summary = await restoreSnapshot(request, ctx.deps).finally(() => release?.());
        emit(ctx, present.json(summary), (view) => present.text(summary, view));
      }),
    );
}
