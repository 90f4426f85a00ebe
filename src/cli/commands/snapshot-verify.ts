import type { Command } from 'commander';
import { IntegrityError } from '../../errors.js';
import type { VerifySummary } from '../../engine/verify/verify.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { formatBytes, formatDurationMs } from '../present/format.js';

interface VerifyFlags {
  all?: boolean;
}

const MAX_LISTED = 50;

function verifyLines(summary: VerifySummary): string[] {
  const lines: string[] = [];
  for (const bundle of summary.bundles) {
    const label = `${bundle.version !== null ? `v${bundle.version} ` : ''}${bundle.id}${bundle.name ? ` "${bundle.name}"` : ''}`;
    if (bundle.ok) {
      lines.push(`✓ ${label}: ${bundle.files} files, ${formatBytes(bundle.bytes)} ok`);
      continue;
    }
    lines.push(`✗ ${label}: ${bundle.problems.length} problem${bundle.problems.length === 1 ? '' : 's'}`);
    for (const p of bundle.problems.slice(0, MAX_LISTED)) lines.push(`    ${p.path === '' ? '(bundle)' : p.path}: ${p.problem}`);
    if (bundle.problems.length > MAX_LISTED) lines.push(`    ... and ${bundle.problems.length - MAX_LISTED} more (--json lists every one)`);
  }
  const seconds = summary.durationMs / 1000;
  const rate = seconds > 0 ? `, ${formatBytes(Math.round(summary.bytes / seconds))}/s` : '';
  lines.push(`${summary.bundles.length} snapshot(s), ${summary.files} files, ${formatBytes(summary.bytes)} checked in ${formatDurationMs(summary.durationMs)}${rate}`);
  return lines;
}

export function registerSnapshotVerify(program: Command, act: Act): void {
  program
    .command('snapshot-verify <sandbox> [selector]', { hidden: true })
    .description('re-hash a snapshot against its manifest (default: latest); exit 6 on any damage')
    .option('--all', 'verify every snapshot; incomplete and corrupt ones count as damage')
    .action(
      act(async (ctx, sandbox: string, selector: string | undefined, flags: VerifyFlags) => {
        const { verifySnapshots } = await import('../../engine/verify/verify.js');
        const summary = await verifySnapshots(
          { sandbox, all: flags.all === true, ...(selector !== undefined ? { selector } : {}) },
          ctx.deps,
        );
        emit(ctx, { ...summary }, () => verifyLines(summary));
        if (!summary.ok) {
          const damaged = summary.bundles.filter((b) => !b.ok);
          const problems = damaged.reduce((sum, b) => sum + b.problems.length, 0);
          throw new IntegrityError('verify-failed', `${problems} problem${problems === 1 ? '' : 's'} in ${damaged.length} of ${summary.bundles.length} snapshot(s) of ${sandbox}`, {
            hint: 'restore from a snapshot that verifies, and delete the damaged one',
          });
        }
      }),
    );
}
