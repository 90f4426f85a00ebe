import type { Command } from 'commander';
import { emit } from '../output.js';
import type { DiskUsage } from '../../engine/inspect/list.js';
import type { Act } from '../program.js';
import { formatBytes } from '../present/format.js';
import { renderTable } from '../present/table.js';

function diskUsageLine(count: number, usage: DiskUsage): string {
  const uncounted = usage.uncounted.length > 0 ? `; ${usage.uncounted.length} incomplete/corrupt not counted (--exact counts them)` : '';
  const how = usage.method === 'inodes' ? 'counted by inode' : 'shared files counted once';
  return `${count} snapshot(s): ${formatBytes(usage.bytes)} on disk in ${usage.files} files (${how}; ${formatBytes(usage.totalBytes)} without sharing)${uncounted}`;
}

export function registerSnapshotList(program: Command, act: Act): void {
  program
    .command('snapshot-list <sandbox>', { hidden: true })
    .description('list the snapshots of a sandbox, with the bytes only each one holds and the real disk use')
    .option('--exact', 'count shared files by inode (lstat of every payload file) instead of from the manifests')
    .action(
      act(async (ctx, sandbox: string, flags: { exact?: boolean }) => {
        const { listSnapshotsWithSpace } = await import('../../engine/inspect/list.js');
        const { snapshots: rows, diskUsage } = listSnapshotsWithSpace(sandbox, ctx.deps, { exact: flags.exact === true });
        emit(ctx, { sandbox, snapshots: rows, diskUsage }, () => {
          if (rows.length === 0) return [`${sandbox} has no snapshots (create one with \`clawback ${sandbox} snapshot create\`)`];
          return [
            ...renderTable(
              ['Version', 'Name', 'Timestamp', 'Files', 'Size', 'Unique', 'Complete'],
              rows.map((r) => [
                r.version !== null ? `v${r.version}` : '-',
                r.name ?? '',
                r.timestamp,
                r.files ?? '-',
                r.bytes !== null ? formatBytes(r.bytes) : '-',
                r.uniqueBytes !== null ? formatBytes(r.uniqueBytes) : '-',
                r.state === 'complete' ? 'yes' : r.state === 'partial' ? 'no (incomplete)' : `no (corrupt: ${r.problem ?? ''})`,
              ]),
            ),
            diskUsageLine(rows.length, diskUsage),
          ];
        });
      }),
    );
}
