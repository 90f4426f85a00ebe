import type { Command } from 'commander';
import type { Act } from '../context.js';
import { emit } from '../output.js';

export function registerManifest(program: Command, act: Act): void {
  const manifest = program
    .command('manifest')
    .description('print a built-in agent manifest, or check a custom one')
    .addHelpText('after', '\nExit codes: 0 ok, 2 the manifest is invalid (the message names file:line), 4 no such file.');
  manifest
    .command('show <kind>')
    .description('print the built-in manifest of openclaw, hermes, deepagents or qwenpaw as YAML (a start for a custom one)')
    .action(
      act(async (ctx, kind: string) => {
        const present = await import('../present/manifest.js');
        const { builtinManifestText } = await import('../../engine/sandbox/manifest-file.js');
        const yaml = builtinManifestText(kind);
        emit(ctx, present.showJson(kind, yaml), () => present.showText(yaml));
      }),
    );
  manifest
    .command('check <file>')
    .description('validate a manifest file: exit 0 with a one-line summary, or exit 2 naming file:line')
    .action(
      act(async (ctx, file: string) => {
        const present = await import('../present/manifest.js');
        const { checkManifestFile } = await import('../../engine/sandbox/manifest-file.js');
        const checked = checkManifestFile(file);
        emit(ctx, present.checkJson(file, checked), () => present.checkText(file, checked));
      }),
    );
}
