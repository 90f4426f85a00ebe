import type { Command } from 'commander';
import type { Act, CliContext, GlobalOptions } from '../context.js';
import { emit } from '../output.js';
import { plainArgs } from '../plain-args.js';
import * as present from '../present/snapshot-push.js';
import { resticFor } from './repo-access.js';

const PUSH_HELP = `
Each snapshot becomes one restic snapshot of its directory (relative paths), tagged clawback,
sandbox=<name>, bundle=<timestamp> and label=<label>; its hashes are checked first, so a damaged
snapshot never leaves the machine. A snapshot the repository holds already is not sent again.
Without a selector the latest snapshot is pushed. Exit 6: wrong password or damaged snapshot;
4: repository or restic missing; 7: repository locked; 3: restic could not read some files.`;

export function registerSnapshotPush(program: Command, act: Act): void {
  program
    .command('snapshot-push <sandbox> [selectors...]', { hidden: true })
    .description('copy snapshots to a restic repository (default: latest)')
    .requiredOption('--repo <name>', 'the repository (`clawback repo add`)')
    .option('--all', 'every complete snapshot (those already there are skipped)')
    .option('--missing', 'the complete snapshots the repository does not hold yet')
    .addHelpText('after', PUSH_HELP)
    .action(act((ctx, sandbox: string, selectors: string[], flags: PushFlags) => pushAction(ctx, sandbox, selectors, flags)));
}

export interface PushFlags {
  repo: string;
  all?: boolean;
  missing?: boolean;
}

/** Push's action, as commander runs it and as main runs a plain push (plainPush) without commander. */
export async function pushAction(ctx: CliContext, sandbox: string, selectors: string[], flags: PushFlags): Promise<void> {
  // Its check runs beside restic's start: V8's optimising compiler would take CPU from both (optimise-late.ts).
  const [{ pushSnapshots }] = await Promise.all([import('../../engine/offsite/push.js'), import('../optimise-late.js').then((o) => o.optimiseLate())]);
  const restic = await resticFor(ctx, flags.repo);
  // Ctrl-C stops the restic processes (they remove their locks) before the push exits 130.
  const release = ctx.io.interrupts?.takeOver();
  const summary = await pushSnapshots({ sandbox, selectors, all: flags.all === true, missing: flags.missing === true }, restic, ctx.deps).finally(() => release?.());
  emit(ctx, present.pushJson(summary), () => present.pushText(summary));
}

/**
 * A plain `<name> snapshot push [selectors...] --repo NAME [--all] [--missing]`, which main runs
 * without commander (plain-args.ts): `--repo` once, as its own word followed by a value that is not
 * a flag; anything else (`--repo=NAME`, help, `--`...) is left to commander.
 */
export function plainPush(argv: readonly string[]): { sandbox: string; selectors: string[]; flags: PushFlags; globals: GlobalOptions } | undefined {
  const at = argv.indexOf('--repo');
  const repo = argv[at + 1];
  if (at < 2 || repo === undefined || repo.startsWith('-') || argv.indexOf('--repo', at + 2) >= 0) return undefined;
  const plain = plainArgs([...argv.slice(0, at), ...argv.slice(at + 2)], 'snapshot-push', ['--all', '--missing'], Number.POSITIVE_INFINITY);
  if (plain === undefined) return undefined;
  const flags: PushFlags = { repo, ...(plain.flags.has('--all') ? { all: true } : {}), ...(plain.flags.has('--missing') ? { missing: true } : {}) };
  return { sandbox: plain.sandbox, selectors: plain.operands, flags, globals: plain.globals };
}
