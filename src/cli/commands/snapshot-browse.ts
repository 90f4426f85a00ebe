import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Act } from '../context.js';
import { emit } from '../output.js';

const FIND_HELP = `
A GLOB without '/' matches a name at any depth (SOUL.md, '*.sqlite'); one with '/' matches the
whole path from the snapshot's root ('memory/2026-04-*.md', 'workspace/**'). Quote it for the shell.
Each hit says whether the content is new, changed or the same as in the next older snapshot that
holds the path. No match is not an error (exit 0).`;

const STATS_HELP = `
Unique bytes: the bytes of files whose content (sha256) no other snapshot of the sandbox holds,
which is what would be lost if the snapshot were deleted. Without a selector: every snapshot, and the
disk they take together, each payload file counted once by inode (hard links are not counted twice).`;

export function registerSnapshotLs(program: Command, act: Act): void {
  program
    .command('snapshot-ls <sandbox> <selector> [path]', { hidden: true })
    .description("list a snapshot's files under PATH (default: all of it) as a tree")
    .option('-l, --long', 'one line per entry: type and mode, size in bytes, mtime (UTC), path')
    .action(
      act(async (ctx, sandbox: string, selector: string, inside: string | undefined, flags: { long?: boolean }) => {
        const presentLs = await import('../present/snapshot-ls.js');
        const { listSnapshotPath } = await import('../../engine/inspect/ls.js');
        const result = listSnapshotPath({ sandbox, selector, ...(inside !== undefined ? { path: inside } : {}) }, ctx.deps);
        emit(ctx, presentLs.json(result), () => presentLs.text(result, flags.long === true));
      }),
    );
}

export function registerSnapshotCat(program: Command, act: Act): void {
  program
    .command('snapshot-cat <sandbox> <selector> <path>', { hidden: true })
    .description("write one file of a snapshot to stdout, checked against the manifest's sha256 (exit 6 on a mismatch)")
    .addHelpText('after', '\nDirectories, symlinks and SQLite databases are refused (exit 5); restore a database with\n`snapshot restore SELECTOR --path PATH`, or take the snapshot whole with `snapshot export`.')
    .action(
      act(async (ctx, sandbox: string, selector: string, inside: string) => {
        if (ctx.json) throw new UsageError('`snapshot cat` writes the raw bytes of a file; --json does not apply', { hint: '`snapshot ls SELECTOR PATH --json` describes the file' });
        const { catSnapshotFile } = await import('../../engine/inspect/cat.js');
        ctx.progress.stop();
        // The reader hands out views of one buffer: copy each chunk before the stream keeps it.
        catSnapshotFile({ sandbox, selector, path: inside }, (chunk) => void ctx.io.stdout.write(Buffer.from(chunk)), ctx.deps);
      }),
    );
}

export function registerSnapshotFind(program: Command, act: Act): void {
  program
    .command('snapshot-find <sandbox> <glob>', { hidden: true })
    .description('which snapshots hold a path matching GLOB, newest first, with its size and whether it changed')
    .option('--all', 'search the snapshots of every registered sandbox')
    .addHelpText('after', FIND_HELP)
    .action(
      act(async (ctx, sandbox: string, glob: string, flags: { all?: boolean }) => {
        const presentFind = await import('../present/snapshot-find.js');
        const { findInSnapshots, registeredSandboxNames } = await import('../../engine/inspect/find.js');
        const sandboxes = flags.all === true ? registeredSandboxNames(ctx.deps) : [sandbox];
        const result = findInSnapshots({ glob, sandboxes }, ctx.deps);
        emit(ctx, presentFind.json(result), () => presentFind.text(result, flags.all === true));
      }),
    );
}

export function registerSnapshotStats(program: Command, act: Act): void {
  program
    .command('snapshot-stats <sandbox> [selector]', { hidden: true })
    .description('files, bytes and unique bytes of a snapshot per module and agent, or of every snapshot with the disk they use')
    .addHelpText('after', STATS_HELP)
    .action(
      act(async (ctx, sandbox: string, selector: string | undefined) => {
        const presentStats = await import('../present/snapshot-stats.js');
        const { sandboxStats, snapshotStats } = await import('../../engine/inspect/stats.js');
        if (selector === undefined) {
          const stats = sandboxStats(sandbox, ctx.deps);
          emit(ctx, presentStats.sandboxJson(stats), (view) => presentStats.sandboxText(stats, view));
          return;
        }
        const stats = snapshotStats(sandbox, selector, ctx.deps);
        emit(ctx, presentStats.snapshotJson(stats), (view) => presentStats.snapshotText(stats, view));
      }),
    );
}
