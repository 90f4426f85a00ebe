import type { Command } from 'commander';
import type { Act, CliRunner } from '../context.js';
import { registerBackupAll } from './backup-all.js';
import { registerRebuild } from './rebuild.js';
import { registerCompletion } from './completion.js';
import { registerDemo } from './demo.js';
import { registerDiscover } from './discover.js';
import { registerHelpAndVersion } from './help-version.js';
import { registerManifest } from './manifest.js';
import { registerSandbox } from './sandbox.js';
import { registerSchedule } from './schedule.js';
import { registerSnapshotCreate } from './snapshot-create.js';
import { registerSnapshotDelete } from './snapshot-delete.js';
import { registerSnapshotDiff } from './snapshot-diff.js';
import { registerSnapshotExport } from './snapshot-export.js';
import { registerSnapshotHelp } from './snapshot-help.js';
import { registerSnapshotImport } from './snapshot-import.js';
import { registerSnapshotList } from './snapshot-list.js';
import { registerSnapshotPrune } from './snapshot-prune.js';
import { registerSnapshotRestore } from './snapshot-restore.js';
import { registerSnapshotShow } from './snapshot-show.js';
import { registerSnapshotVerify } from './snapshot-verify.js';
import { registerSnapshotCat, registerSnapshotFind, registerSnapshotLs, registerSnapshotStats } from './snapshot-browse.js';
import { registerStatus } from './status.js';

/** The snapshot verbs users type, from the hidden `snapshot-<verb>` commands that implement them. */
export function snapshotVerbs(program: Command): string[] {
  return program.commands.flatMap((c) => {
    const verb = /^snapshot-(.+)$/.exec(c.name())?.[1];
    return verb !== undefined && verb !== 'help' ? [verb] : [];
  });
}

/** Every command, one line each; each module declares its options and lazily loads its engine. */
export function registerCommands(program: Command, act: Act, runCli: CliRunner, version: string): void {
  registerSandbox(program, act);
  registerDiscover(program, act);
  registerSnapshotHelp(program, act, () => snapshotVerbs(program));
  registerSnapshotCreate(program, act);
  registerSnapshotList(program, act);
  registerSnapshotShow(program, act);
  registerSnapshotRestore(program, act);
  registerSnapshotVerify(program, act);
  registerSnapshotDiff(program, act);
  registerSnapshotDelete(program, act);
  registerSnapshotPrune(program, act);
  registerSnapshotExport(program, act);
  registerSnapshotImport(program, act);
  registerSnapshotLs(program, act);
  registerSnapshotCat(program, act);
  registerSnapshotFind(program, act);
  registerSnapshotStats(program, act);
  registerBackupAll(program, act);
  registerStatus(program, act);
  registerRebuild(program, act);
  registerSchedule(program, act);
  registerManifest(program, act);
  registerDemo(program, act, runCli);
  registerHelpAndVersion(program, act, version);
  registerCompletion(program, act);
}
