import path from 'node:path';
import type { Command } from 'commander';
import type { RestoreRequest } from '../../engine/restore/restore.js';
import type { ToDirRequest } from '../../engine/restore/to-dir.js';
import { UsageError } from '../../errors.js';
import { confirm } from '../confirm.js';
import { expandHome, type Act, type CliContext } from '../context.js';
import { emit, note } from '../output.js';
import { csv } from './options.js';
import { resticFor } from './repo-access.js';

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
  path?: string[];
  toDir?: string;
  repo?: string;
}

const HELP = `
--path GLOB (repeatable, or several after one --path; put the selector before it) restores only the
snapshot paths it names, relative to the state root: a plain path is that file, or that directory and
everything below it; a glob (quote it) matches whole paths, e.g. 'workspace/memory/2026-04-*.md', or
'**/SOUL.md' at any depth. It goes through the same staged, verified, journaled restore with a
pre-restore snapshot. Live files outside the matched paths are never removed or changed (their inodes
stay); a matched directory becomes exactly the snapshot's (files added since inside it are removed).
A --path that matches nothing in the snapshot exits 4. With --only/--agent: what both select.

--to-dir DIR writes the selection (all of it, or --path/--only/--agent) into a new or empty directory
instead of the live state: files as captured (no config merges), SQLite through the backup API, every
file checked against the manifest; nothing is registered and no pre-restore snapshot is taken. It is
built in DIR.partial-<random> beside DIR and renamed into place; a non-empty DIR is refused (exit 5).`;

/** `--repo`: the repository's snapshot is pulled (unless it is here), then restored like any local one. */
async function pullFirst(ctx: CliContext, sandbox: string, selector: string | undefined, repo: string): Promise<string> {
  const { pullForRestore } = await import('../../engine/offsite/pull.js');
  const { timestamp, pulled } = await pullForRestore(sandbox, selector ?? 'latest', await resticFor(ctx, repo), ctx.deps);
  note(ctx, pulled ? `pulled ${timestamp} from repository ${repo} and verified it` : `${timestamp} is here already; restoring the local copy`);
  return timestamp;
}

function resolver(ctx: CliContext): (dir: string) => string {
  return (dir) => path.resolve(ctx.io.cwd, expandHome(dir, ctx.io.homedir));
}

function requestOf(ctx: CliContext, sandbox: string, selector: string | undefined, flags: RestoreFlags): RestoreRequest {
  const resolve = resolver(ctx);
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
    ...(flags.path ? { paths: flags.path } : {}),
  };
}

/** --to-dir writes a plain directory: the flags about a live target mean nothing there. */
function toDirRequestOf(ctx: CliContext, sandbox: string, selector: string | undefined, flags: RestoreFlags & { toDir: string }): ToDirRequest {
  const clash = (['to', 'root', 'newAgentRoot', 'force'] as const).find((key) => flags[key] !== undefined);
  if (clash !== undefined) {
    const flag = `--${clash.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new UsageError(`--to-dir cannot be combined with ${flag}`, { hint: '--to-dir writes a new or empty directory and touches no sandbox' });
  }
  if (flags.preRestore === false) throw new UsageError('--to-dir cannot be combined with --no-pre-restore', { hint: '--to-dir changes no live state, so it never takes a pre-restore snapshot' });
  return {
    sandbox,
    selector: selector ?? 'latest',
    dir: resolver(ctx)(flags.toDir),
    dryRun: flags.dryRun === true,
    ...(flags.only ? { only: flags.only } : {}),
    ...(flags.agent ? { agents: flags.agent } : {}),
    ...(flags.path ? { paths: flags.path } : {}),
  };
}

async function restoreIntoDir(ctx: CliContext, sandbox: string, selector: string | undefined, flags: RestoreFlags & { toDir: string }): Promise<void> {
  const presentDir = await import('../present/snapshot-restore-dir.js');
  const { restoreToDir } = await import('../../engine/restore/to-dir.js');
  const request = toDirRequestOf(ctx, sandbox, selector, flags);
  // Ctrl-C removes the half-written DIR.partial-* and exits 130; DIR itself never appears.
  const release = request.dryRun ? undefined : ctx.io.interrupts?.takeOver();
  const summary = await restoreToDir(request, ctx.deps).finally(() => release?.());
  emit(ctx, presentDir.json(summary), () => presentDir.text(summary));
}

export function registerSnapshotRestore(program: Command, act: Act): void {
  program
    .command('snapshot-restore <sandbox> [selector]', { hidden: true })
    .description('restore a snapshot (default: latest); a pre-restore snapshot is taken first')
    .option('--path <globs...>', 'restore only these snapshot paths (globs; a directory with all below it); live files outside them stay')
    .option('--to-dir <dir>', 'write the snapshot (or the --path/--only/--agent part) into a new or empty directory; change no live state')
    .option('--to <other>', 'restore into another sandbox (registered if unknown)')
    .option('--root <dir>', 'with --to a new name: its state root (default <home>/sandboxes/<other>)')
    .option('--force', 'restore over an existing --to sandbox or a non-empty --root')
    .option('--yes', 'do not ask for confirmation')
    .option('--dry-run', 'print what would be replaced, added, removed and kept; change nothing')
    .option('--only <modules>', 'restore only these modules (comma-separated); the rest stays as it is', csv)
    .option('--agent <ids>', 'restore only these agents (comma-separated)', csv)
    .option('--new-agent-root <dir>', 'where agents not on this host go (default <root>/workspaces/<id>)')
    .option('--no-pre-restore', 'skip the safety snapshot of the current state')
    .option('--repo <name>', 'take the snapshot from a restic repository: pulled (and verified) first unless it is here already')
    .addHelpText('after', HELP)
    .action(
      act(async (ctx, sandbox: string, given: string | undefined, flags: RestoreFlags) => {
        const selector = flags.repo !== undefined ? await pullFirst(ctx, sandbox, given, flags.repo) : given;
        const present = await import('../present/snapshot-restore.js');
        if (flags.toDir !== undefined) return restoreIntoDir(ctx, sandbox, selector, { ...flags, toDir: flags.toDir });
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
