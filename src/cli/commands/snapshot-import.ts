import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { ArchiveLimits } from '../../formats/archive-guard.js';
import type { ImportRequest } from '../../engine/archive/import.js';
import { expandHome, type Act, type CliContext } from '../context.js';
import { emit } from '../output.js';
import { readPassphrase } from '../passphrase.js';

interface ImportFlags {
  overwrite?: boolean;
  name?: string;
  passphraseFile?: string;
}

const LIMIT_KEYS: ReadonlyArray<keyof ArchiveLimits> = ['maxEntries', 'maxTotalBytes', 'maxCompressionRatio', 'ratioCheckMinBytes'];

/** Test-only: CLAWBACK_TEST_ARCHIVE_LIMITS='{"maxEntries":50}' tightens the hostile-archive limits. */
export function testArchiveLimits(raw: string | undefined): Partial<ArchiveLimits> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new UsageError('CLAWBACK_TEST_ARCHIVE_LIMITS is not valid JSON');
  }
  const limits: Partial<ArchiveLimits> = {};
  for (const key of LIMIT_KEYS) {
    const n = (value as Record<string, unknown>)[key];
    if (typeof n === 'number' && n >= 0) limits[key] = n;
  }
  return limits;
}

function requestOf(ctx: CliContext, sandbox: string, file: string, flags: ImportFlags): ImportRequest {
  const limits = testArchiveLimits(ctx.io.env.CLAWBACK_TEST_ARCHIVE_LIMITS);
  return {
    sandbox,
    file: path.resolve(ctx.io.cwd, expandHome(file, ctx.io.homedir)),
    overwrite: flags.overwrite === true,
    passphrase: () => readPassphrase(ctx, { confirm: false, ...(flags.passphraseFile !== undefined ? { file: flags.passphraseFile } : {}) }),
    ...(flags.name !== undefined ? { label: flags.name } : {}),
    ...(limits ? { limits } : {}),
  };
}

export function registerSnapshotImport(program: Command, act: Act): void {
  program
    .command('snapshot-import <sandbox> <file>', { hidden: true })
    .description('import a clawback export (tar, tar.gz, encrypted or not), a QwenPaw backup zip, or a directory NemoClaw left (one of its bundles, or ~/.nemoclaw/backups/<timestamp>/) as a new snapshot')
    .option('--overwrite', 'replace the snapshot imported earlier from the same archive')
    .option('--name <label>', 'label for the imported snapshot (default: the archive\'s own name)')
    .option('--passphrase-file <file>', 'passphrase of an encrypted export (else $CLAWBACK_PASSPHRASE, else a prompt)')
    .action(
      act(async (ctx, sandbox: string, file: string, flags: ImportFlags) => {
        const present = await import('../present/snapshot-import.js');
        const request = requestOf(ctx, sandbox, file, flags);
        const { importArchive } = await import('../../engine/archive/import.js');
        const summary = await importArchive(request, ctx.deps);
        emit(ctx, present.json(summary), () => present.text(summary));
      }),
    );
}
