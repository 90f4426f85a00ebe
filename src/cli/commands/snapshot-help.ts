import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Act } from '../program.js';

export function registerSnapshotHelp(program: Command, act: Act): void {
  program
    .command('snapshot-help <sandbox>', { hidden: true })
    .allowUnknownOption()
    .action(
      act(async (_ctx, sandbox: string) => {
        throw new UsageError(`missing snapshot verb after "${sandbox} snapshot"`, {
          hint: 'one of create, list, show, verify, diff, restore, delete, prune, export, import (see clawback --help)',
        });
      }),
    );
}
