import type { Command } from 'commander';
import type { Act, CliRunner } from '../context.js';
import { snapshotVerbs } from '../help.js';

/** What a command module adds to the program. */
type Registrar = (program: Command, act: Act, runCli: CliRunner, version: string) => void;

/**
 * Every command, in help order: the top-level names it registers and how to load its module. A
 * command's module (and so its presenter and engine) is loaded only when it runs, or for help.
 */
const COMMANDS: ReadonlyArray<readonly [names: readonly string[], load: () => Promise<Registrar>]> = [
  [['sandbox'], async () => (await import('./sandbox.js')).registerSandbox],
  [['discover'], async () => (await import('./discover.js')).registerDiscover],
  [['snapshot-help'], async () => {
    const { registerSnapshotHelp } = await import('./snapshot-help.js');
    return (program, act) => registerSnapshotHelp(program, act, () => snapshotVerbs(program));
  }],
  [['snapshot-create'], async () => (await import('./snapshot-create.js')).registerSnapshotCreate],
  [['snapshot-list'], async () => (await import('./snapshot-list.js')).registerSnapshotList],
  [['snapshot-show'], async () => (await import('./snapshot-show.js')).registerSnapshotShow],
  [['snapshot-restore'], async () => (await import('./snapshot-restore.js')).registerSnapshotRestore],
  [['snapshot-verify'], async () => (await import('./snapshot-verify.js')).registerSnapshotVerify],
  [['snapshot-diff'], async () => (await import('./snapshot-diff.js')).registerSnapshotDiff],
  [['snapshot-delete'], async () => (await import('./snapshot-delete.js')).registerSnapshotDelete],
  [['snapshot-prune'], async () => (await import('./snapshot-prune.js')).registerSnapshotPrune],
  [['snapshot-export'], async () => (await import('./snapshot-export.js')).registerSnapshotExport],
  [['snapshot-import'], async () => (await import('./snapshot-import.js')).registerSnapshotImport],
  [['snapshot-push'], async () => (await import('./snapshot-push.js')).registerSnapshotPush],
  [['snapshot-pull'], async () => (await import('./snapshot-pull.js')).registerSnapshotPull],
  [['snapshot-ls'], async () => (await import('./snapshot-browse.js')).registerSnapshotLs],
  [['snapshot-cat'], async () => (await import('./snapshot-browse.js')).registerSnapshotCat],
  [['snapshot-find'], async () => (await import('./snapshot-browse.js')).registerSnapshotFind],
  [['snapshot-stats'], async () => (await import('./snapshot-browse.js')).registerSnapshotStats],
  [['backup-all'], async () => (await import('./backup-all.js')).registerBackupAll],
  [['status'], async () => (await import('./status.js')).registerStatus],
  [['rebuild'], async () => (await import('./rebuild.js')).registerRebuild],
  [['schedule'], async () => (await import('./schedule.js')).registerSchedule],
  [['repo'], async () => (await import('./repo.js')).registerRepo],
  [['manifest'], async () => (await import('./manifest.js')).registerManifest],
  [['demo'], async () => (await import('./demo.js')).registerDemo],
  [['help', 'version'], async () => {
    const { registerHelpAndVersion } = await import('./help-version.js');
    return (program, act, _runCli, version) => registerHelpAndVersion(program, act, version);
  }],
  [['completion', '__complete'], async () => (await import('./completion.js')).registerCompletion],
];

/** Commands that read the whole program (help, the verb list, completion): they load every command. */
const NEED_ALL = new Set(['help', 'snapshot-help', '__complete']);

/** Every registered top-level command name (the test that this table matches the modules reads it). */
export const COMMAND_NAMES: readonly string[] = COMMANDS.flatMap(([names]) => names);

/**
 * Registers the commands: only the one named (`word`, the first word after the global options) when
 * it needs no other, else all of them (root help, an unknown command's suggestions, completion).
 */
export async function registerCommands(program: Command, act: Act, runCli: CliRunner, version: string, word: string | undefined): Promise<void> {
  const only = word !== undefined && !NEED_ALL.has(word) ? COMMANDS.find(([names]) => names.includes(word)) : undefined;
  const entries = only !== undefined ? [only] : COMMANDS;
  const registrars = await Promise.all(entries.map(([, load]) => load()));
  for (const register of registrars) register(program, act, runCli, version);
}
