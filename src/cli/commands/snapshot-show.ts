import type { Command } from 'commander';
import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes } from '../present/format.js';

function moduleCounts(manifest: BundleManifest): Array<{ module: string; files: number; bytes: number }> {
  const counts = new Map<string, { files: number; bytes: number }>();
  for (const entry of manifest.entries) {
    const c = counts.get(entry.module) ?? { files: 0, bytes: 0 };
    if (entry.type === 'file') {
      c.files++;
      c.bytes += entry.size ?? 0;
    }
    counts.set(entry.module, c);
  }
  return [...counts.entries()].sort().map(([module, c]) => ({ module, ...c }));
}

function skippedCounts(manifest: BundleManifest): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of manifest.skipped) counts[s.reason] = (counts[s.reason] ?? 0) + 1;
  return counts;
}

export function registerSnapshotShow(program: Command, act: Act): void {
  program
    .command('snapshot-show <sandbox> <selector>', { hidden: true })
    .description('show one snapshot')
    .action(
      act(async (ctx, sandbox: string, selector: string) => {
        const { findSnapshot } = await import('../../engine/bundle/find.js');
        const record = findSnapshot(sandbox, selector, ctx.deps);
        const m = record.manifest;
        if (!m) {
          emit(ctx, { snapshot: { id: record.id, state: record.state, path: record.dir, problem: record.problem?.message ?? null } }, () => [
            `${record.id}: ${record.state}${record.problem ? ` (${record.problem.message})` : ''}`,
          ]);
          return;
        }
        const modules = moduleCounts(m);
        const skipped = skippedCounts(m);
        const databases = m.entries.filter((e) => e.strategy === 'sqlite_backup').map((e) => e.path);
        const symlinks = m.entries.filter((e) => e.type === 'symlink').length;
        emit(
          ctx,
          {
            snapshot: {
              version: record.version ?? null,
              timestamp: m.timestamp,
              name: m.name,
              path: record.dir,
              agentType: m.agentType,
              capture: m.capture,
              scope: m.scope,
              includesSecrets: m.includesSecrets,
              totals: m.totals,
              modules,
              databases,
              symlinks,
              skipped,
              policyPresets: m.policyPresets,
              customPolicies: m.customPolicies.map((p) => p.name),
              contentSha256: m.contentSha256,
            },
          },
          () => [
            `snapshot v${record.version} of ${m.sandboxName}${m.name ? ` "${m.name}"` : ''}`,
            `  timestamp:  ${m.timestamp}`,
            `  path:       ${record.dir}`,
            `  agent:      ${m.agentType} (${m.capture} capture${m.scope.full ? ', full' : ', partial'})`,
            `  files:      ${m.totals.files} (${formatBytes(m.totals.bytes)}), ${symlinks} symlinks`,
            `  secrets:    ${m.includesSecrets ? 'included' : 'left out'}`,
            `  databases:  ${databases.length ? databases.join(', ') : 'none'}`,
            '  modules:',
            ...modules.map((mod) => `    ${mod.module.padEnd(14)} ${String(mod.files).padStart(7)} files  ${formatBytes(mod.bytes)}`),
            '  skipped:',
            ...(Object.keys(skipped).length ? Object.entries(skipped).map(([reason, n]) => `    ${n} × ${reason}`) : ['    nothing']),
          ],
        );
      }),
    );
}
