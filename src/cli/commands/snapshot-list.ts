import type { Command } from 'commander';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes } from '../present/format.js';
import { renderTable } from '../present/table.js';

export function registerSnapshotList(program: Command, act: Act): void {
  program
    .command('snapshot-list <sandbox>', { hidden: true })
    .description('list the snapshots of a sandbox')
    .action(
      act(async (ctx, sandbox: string) => {
        const { listSnapshots } = await import('../../engine/snapshot-list.js');
        const rows = listSnapshots(sandbox, ctx.deps);
        emit(ctx, { sandbox, snapshots: rows }, () => {
          if (rows.length === 0) return [`${sandbox} has no snapshots (create one with \`clawback ${sandbox} snapshot create\`)`];
          return renderTable(
            ['Version', 'Name', 'Timestamp', 'Files', 'Size', 'Complete'],
            rows.map((r) => [
              r.version !== null ? `v${r.version}` : '-',
              r.name ?? '',
              r.timestamp,
              r.files ?? '-',
              r.bytes !== null ? formatBytes(r.bytes) : '-',
              r.state === 'complete' ? 'yes' : r.state === 'partial' ? 'no (incomplete)' : `no (corrupt: ${r.problem ?? ''})`,
            ]),
          );
        });
      }),
    );
}
