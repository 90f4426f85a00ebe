import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes, formatDurationMs } from '../present/format.js';
import { csv, repeatable } from './options.js';

interface CreateFlags {
  name?: string;
  only?: string[];
  agent?: string[];
  exclude?: string[];
  secrets?: boolean;
}

export function registerSnapshotCreate(program: Command, act: Act): void {
  program
    .command('snapshot-create <sandbox>', { hidden: true })
    .description('take a snapshot of a sandbox')
    .option('--name <label>', 'a label for the snapshot (1–63 of [A-Za-z0-9._-])')
    .option('--only <modules>', 'capture only these modules (comma-separated)', csv)
    .option('--agent <ids>', 'capture only these agents (comma-separated)', csv)
    .option('--exclude <glob>', 'also exclude paths matching this glob (repeatable)', repeatable)
    .option('--no-secrets', 'leave secrets modules out')
    .action(
      act(async (ctx, sandbox: string, flags: CreateFlags) => {
        const { createSnapshot } = await import('../../engine/capture/create.js');
        const summary = await createSnapshot(
          {
            sandbox,
            ...(flags.name !== undefined ? { label: flags.name } : {}),
            scope: {
              ...(flags.only ? { only: flags.only } : {}),
              ...(flags.agent ? { agents: flags.agent } : {}),
              ...(flags.exclude ? { excludes: flags.exclude } : {}),
              noSecrets: flags.secrets === false,
            },
          },
          ctx.deps,
        );
        emit(ctx, { snapshot: summary }, () => [
          `✓ ${sandbox}: ${summary.files} files, ${formatBytes(summary.bytes)} → ${summary.dir}`,
          `  ${summary.copiedFiles} copied (${formatBytes(summary.copiedBytes)}), ${summary.linkedFiles} unchanged (hard-linked), ${summary.databases.length} SQLite database(s), ${summary.skipped} skipped, in ${formatDurationMs(summary.durationMs)}`,
          ...(summary.incomplete ? ['  some paths could not be read (see warnings); everything else is in the snapshot'] : []),
        ]);
        return summary.incomplete ? ExitCode.partial : ExitCode.ok;
      }),
    );
}
