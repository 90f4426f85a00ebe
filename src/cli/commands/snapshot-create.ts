import type { Command } from 'commander';
import { PartialError } from '../../errors.js';
import type { Act, CliContext, GlobalOptions } from '../context.js';
import { emit } from '../output.js';
import { plainArgs } from '../plain-args.js';
import { csv, repeatable } from './options.js';

export interface CreateFlags {
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
    .action(act((ctx, sandbox: string, flags: CreateFlags) => createAction(ctx, sandbox, flags)));
}

/** Create's action, as commander runs it and as main runs a plain create (plainCreate) without commander. */
export async function createAction(ctx: CliContext, sandbox: string, flags: CreateFlags): Promise<void> {
  // The three module graphs load at once, not one after the other (as list and verify load theirs).
  const [present, { createSnapshot }, { recordRun }] = await Promise.all([
    import('../present/snapshot-create.js'),
    import('../../engine/capture/create.js'),
    import('../../engine/capture/run-record.js'),
  ]);
  const request = {
    sandbox,
    ...(flags.name !== undefined ? { label: flags.name } : {}),
    scope: {
      ...(flags.only ? { only: flags.only } : {}),
      ...(flags.agent ? { agents: flags.agent } : {}),
      ...(flags.exclude ? { excludes: flags.exclude } : {}),
      noSecrets: flags.secrets === false,
    },
  };
  // Every run, success or failure, is noted for `clawback status`.
  const summary = await createSnapshot(request, ctx.deps).catch((error: unknown) => {
    recordRun(sandbox, 'snapshot create', { error }, ctx.deps);
    throw error;
  });
  recordRun(sandbox, 'snapshot create', { snapshot: summary }, ctx.deps);
  emit(ctx, present.json(summary), () => present.text(summary));
  if (summary.incomplete || summary.degraded.length > 0) {
    const missed = summary.missedDatabases.length > 0 ? `database(s) not captured: ${summary.missedDatabases.map((d) => d.path).join(', ')}; ` : '';
    throw new PartialError('snapshot-incomplete', `the snapshot of ${sandbox} is incomplete: ${missed}${summary.skipped} path(s) skipped, ${summary.degraded.length} captured as raw bytes; everything else is in it`, summary, {
      hint: `\`clawback ${sandbox} snapshot show ${summary.timestamp}\` lists what was skipped and why; fix it and snapshot again`,
    });
  }
}

/** A plain `<name> snapshot create [--no-secrets]` (cron's), which main runs without commander (plain-args.ts). */
export function plainCreate(argv: readonly string[]): { sandbox: string; globals: GlobalOptions; flags: CreateFlags } | undefined {
  const plain = plainArgs(argv, 'snapshot-create', ['--no-secrets'], 0);
  return plain === undefined ? undefined : { sandbox: plain.sandbox, globals: plain.globals, flags: plain.flags.has('--no-secrets') ? { secrets: false } : {} };
}
