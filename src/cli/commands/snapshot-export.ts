import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { ExportFormat, ExportRequest } from '../../engine/archive/export.js';
import { expandHome, type Act, type CliContext } from '../context.js';
import { emit } from '../output.js';
import { readPassphrase } from '../passphrase.js';

interface ExportFlags {
  output?: string;
  format?: string;
  includeSecrets?: boolean;
  encrypt?: boolean;
  passphraseFile?: string;
  force?: boolean;
}

const FORMATS: readonly ExportFormat[] = ['tar', 'tar.gz', 'qwenpaw-zip'];

/** --format, else the output's extension (.zip, .tar, .tar.gz/.tgz, each optionally + .enc), else tar.gz. */
export function chooseFormat(format: string | undefined, output: string | undefined): ExportFormat {
  if (format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`unknown export format ${JSON.stringify(format)}`, { hint: `use one of ${FORMATS.join(', ')}` });
    return format as ExportFormat;
  }
  if (output === undefined) throw new UsageError('no output file', { hint: 'pass -o FILE (or --format qwenpaw-zip to write into the QwenPaw backup dir)' });
  const name = output.toLowerCase().replace(/\.enc$/, '');
  if (name.endsWith('.zip')) return 'qwenpaw-zip';
  if (name.endsWith('.tar')) return 'tar';
  return 'tar.gz';
}

function systemInfo(version: string): Record<string, string> {
  return {
    os: os.type(),
    os_release: os.release(),
    os_version: os.version(),
    machine: os.machine(),
    node_version: process.versions.node,
    generator: `clawback ${version}`,
  };
}

async function requestOf(ctx: CliContext, sandbox: string, selector: string, flags: ExportFlags): Promise<ExportRequest> {
  const format = chooseFormat(flags.format, flags.output);
  const resolve = (file: string): string => path.resolve(ctx.io.cwd, expandHome(file, ctx.io.homedir));
  const request: ExportRequest = {
    sandbox,
    selector,
    format,
    force: flags.force === true,
    includeSecrets: flags.includeSecrets === true,
    systemInfo: systemInfo(ctx.deps.toolVersion),
    ...(flags.output !== undefined ? { output: resolve(flags.output) } : {}),
    ...(ctx.io.env.QWENPAW_BACKUP_DIR ? { qwenpawBackupDir: resolve(ctx.io.env.QWENPAW_BACKUP_DIR) } : {}),
  };
  if (flags.encrypt) {
    if (format === 'qwenpaw-zip') throw new UsageError('--encrypt applies to the tar and tar.gz formats', { hint: 'QwenPaw cannot read an encrypted zip; export as tar.gz to encrypt' });
    request.passphrase = await readPassphrase(ctx, { confirm: true, ...(flags.passphraseFile !== undefined ? { file: flags.passphraseFile } : {}) });
  }
  return request;
}

export function registerSnapshotExport(program: Command, act: Act): void {
  program
    .command('snapshot-export <sandbox> <selector>', { hidden: true })
    .description('write a snapshot as one portable archive (clawback tar/tar.gz, or a QwenPaw backup zip)')
    .option('-o, --output <file>', 'the archive to write (qwenpaw-zip default: <QwenPaw backup dir>/<id>.zip)')
    .option('--format <format>', 'tar, tar.gz or qwenpaw-zip (default: from the file name, else tar.gz)')
    .option('--include-secrets', 'keep secrets modules in an unencrypted export (a warning is printed)')
    .option('--encrypt', 'encrypt with a passphrase (AES-256-GCM, scrypt); keeps secrets')
    .option('--passphrase-file <file>', 'read the passphrase from this file (else $CLAWBACK_PASSPHRASE, else a prompt)')
    .option('--force', 'replace an existing output file')
    .action(
      act(async (ctx, sandbox: string, selector: string, flags: ExportFlags) => {
        const present = await import('../present/snapshot-export.js');
        const request = await requestOf(ctx, sandbox, selector, flags);
        const { exportSnapshot } = await import('../../engine/archive/export.js');
        const summary = await exportSnapshot(request, ctx.deps);
        emit(ctx, present.json(summary), () => present.text(summary));
      }),
    );
}
