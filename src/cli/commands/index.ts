import type { Command } from 'commander';
import type { Act } from '../program.js';
import { registerBackupAll } from './backup-all.js';
import { registerRebuild } from './rebuild.js';
import { registerDemo } from './demo.js';
import { registerDiscover } from './discover.js';
import { registerSandbox } from './sandbox.js';
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

/** Every command, one line each; each module declares its options and lazily loads its engine. */
export function registerCommands(program: Command, act: Act): void {
  registerSandbox(program, act);
  registerDiscover(program, act);
  registerSnapshotHelp(program, act);
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
  registerBackupAll(program, act);
  registerRebuild(program, act);
  registerDemo(program, act);
  rememberVerbs(program);
}

let verbs: string[] = [];

/** Names of the commands registered in this build (the demo runs the steps that exist). */
export function registeredVerbs(): string[] {
  return verbs;
}

export function rememberVerbs(program: Command): void {
  verbs = program.commands.map((c) => c.name());
}
