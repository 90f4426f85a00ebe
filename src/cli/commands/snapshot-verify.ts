import type { Command } from 'commander';
import { ExitCode, PartialError } from '../../errors.js';
import type { Act, CliContext, GlobalOptions } from '../context.js';
import { emit } from '../output.js';
import { plainArgs } from '../plain-args.js';

/** Verify's action, as commander runs it and as main runs a plain verify (plainVerify) without commander. */
export async function verifyAction(ctx: CliContext, sandbox: string, selector: string | undefined, all: boolean): Promise<void> {
  // The hashing workers boot while the rest of verify loads (unused, they are let go); a plain verify started them already.
  (await import('../../engine/verify/prestart.js')).prestartHashers(ctx.deps.host.parallelism);
  const [present, { verifySnapshots }] = await Promise.all([import('../present/snapshot-verify.js'), import('../../engine/verify/verify.js')]);
  const summary = await verifySnapshots({ sandbox, all, ...(selector !== undefined ? { selector } : {}) }, ctx.deps);
  emit(ctx, present.json(summary), () => present.text(summary));
  if (!summary.ok) {
    throw new PartialError('verify-failed', present.damageMessage(summary), summary, {
      exitCode: ExitCode.integrity,
      hint: 'restore from a snapshot that verifies, and delete the damaged one',
    });
  }
}

export interface PlainVerify {
  sandbox: string;
  selector: string | undefined;
  all: boolean;
  globals: GlobalOptions;
}

/** A plain verify (`<name> snapshot verify [selector] [--all]`), which main runs without commander (plain-args.ts). */
export function plainVerify(argv: readonly string[]): PlainVerify | undefined {
  const plain = plainArgs(argv, 'snapshot-verify', ['--all'], 1);
  return plain === undefined ? undefined : { sandbox: plain.sandbox, selector: plain.operands[0], all: plain.flags.has('--all'), globals: plain.globals };
}

export function registerSnapshotVerify(program: Command, act: Act): void {
  program
    .command('snapshot-verify <sandbox> [selector]', { hidden: true })
    .description('re-hash a snapshot against its manifest (default: latest); exit 6 on any damage')
    .option('--all', 'verify every snapshot; incomplete and corrupt ones count as damage')
    .action(act((ctx, sandbox: string, selector: string | undefined, flags: { all?: boolean }) => verifyAction(ctx, sandbox, selector, flags.all === true)));
}
