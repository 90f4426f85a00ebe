import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { expandHome, type Act, type CliContext } from '../context.js';
import { emit } from '../output.js';
import * as present from '../present/repo.js';
import { repeatable } from './options.js';
import { resticFor } from './repo-access.js';

interface AddFlags {
  passwordFile?: string;
  passwordCommand?: string;
  option?: string[];
}

const HELP = `
The repository is any restic location: a local path, sftp:user@host:/path, s3:…, b2:…, azure:…,
gs:…, rest:…, rclone:…. clawback never stores a password: give restic a password file or command
(--password-file / --password-command, stored), or set RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND
or RESTIC_PASSWORD when clawback runs. A stored source wins over the environment. Without a
location argument, RESTIC_REPOSITORY is used; without a password flag, RESTIC_PASSWORD_FILE or
RESTIC_PASSWORD_COMMAND from the environment is stored. --option key=value (repeatable) is passed
to every restic call as -o key=value, e.g. --option sftp.command="ssh -F ~/.ssh/nas.conf nas -s sftp".

Examples:
  clawback repo add nas sftp:backup@nas:/srv/restic/agents --password-file ~/.config/clawback/nas.pw
  clawback repo init nas
  clawback my-assistant snapshot push --repo nas
  clawback repo check nas --read-data-subset 5%`;

/** A local location is stored absolute (restic's `local:` prefix dropped), so it means the same from any directory. */
function locationOf(ctx: CliContext, location: string): string {
  if (/^[a-z0-9]+:/.test(location) && !location.startsWith('local:')) return location;
  const bare = location.startsWith('local:') ? location.slice('local:'.length) : location;
  return path.resolve(ctx.io.cwd, expandHome(bare, ctx.io.homedir));
}

function addRequest(ctx: CliContext, name: string, location: string | undefined, flags: AddFlags) {
  const env = ctx.io.env;
  const repository = location ?? env.RESTIC_REPOSITORY;
  if (repository === undefined || repository === '') {
    throw new UsageError('no repository location given', { hint: 'clawback repo add NAME RESTIC_REPOSITORY (or set RESTIC_REPOSITORY)' });
  }
  const flagged = flags.passwordFile !== undefined || flags.passwordCommand !== undefined;
  const file = flagged ? flags.passwordFile : env.RESTIC_PASSWORD_FILE || undefined;
  const command = flagged ? flags.passwordCommand : file === undefined ? env.RESTIC_PASSWORD_COMMAND || undefined : undefined;
  return {
    name,
    repository: locationOf(ctx, repository),
    options: flags.option ?? [],
    ...(file !== undefined ? { passwordFile: path.resolve(ctx.io.cwd, expandHome(file, ctx.io.homedir)) } : {}),
    ...(command !== undefined ? { passwordCommand: command } : {}),
  };
}

export function registerRepo(program: Command, act: Act): void {
  const repo = program.command('repo').description('restic repositories that hold off-machine copies of snapshots').addHelpText('after', HELP);

  repo
    .command('add <name> [restic-repository]')
    .description('register a restic repository (no password is stored)')
    .option('--password-file <file>', "a file holding the repository's password (restic --password-file)")
    .option('--password-command <cmd>', 'a command printing the password (restic --password-command)')
    .option('--option <key=value>', 'a restic option passed as -o key=value to every call (repeatable)', repeatable)
    .action(
      act(async (ctx, name: string, location: string | undefined, flags: AddFlags) => {
        const { addRepo } = await import('../../engine/offsite/repo.js');
        const entry = addRepo(addRequest(ctx, name, location, flags), ctx.deps);
        emit(ctx, present.json(entry), () => present.addedText(entry));
      }),
    );

  repo
    .command('init <name>')
    .description('create the restic repository (restic init)')
    .action(
      act(async (ctx, name: string) => {
        const { initRepo } = await import('../../engine/offsite/repo.js');
        const restic = await resticFor(ctx, name);
        await initRepo(restic);
        emit(ctx, present.initJson(restic.repo), () => present.initText(restic.repo));
      }),
    );

  repo.command('list').description('list the registered repositories').action(
    act(async (ctx) => {
      const { readRepos } = await import('../../store/repos.js');
      const entries = Object.values(readRepos(ctx.deps.layout).repos).sort((a, b) => (a.name < b.name ? -1 : 1));
      emit(ctx, present.listJson(entries), (view) => present.listText(entries, view));
    }),
  );

  repo.command('show <name>').description('show a repository: location, password source, options').action(
    act(async (ctx, name: string) => {
      const { getRepo } = await import('../../store/repos.js');
      const entry = getRepo(ctx.deps.layout, name);
      emit(ctx, present.json(entry), () => present.showText(entry));
    }),
  );

  repo.command('remove <name>').description('forget a repository (its snapshots stay in it)').action(
    act(async (ctx, name: string) => {
      const { removeRepo } = await import('../../engine/offsite/repo.js');
      const entry = removeRepo(name, ctx.deps);
      emit(ctx, present.removedJson(entry), () => present.removedText(entry));
    }),
  );

  repo
    .command('check <name>')
    .description('check the repository (restic check); exit 6 on damage')
    .option('--read-data-subset <subset>', 'also read and check this part of the data (e.g. 5%, 1/10, 500M)')
    .action(
      act(async (ctx, name: string, flags: { readDataSubset?: string }) => {
        const { checkRepo } = await import('../../engine/offsite/repo.js');
        const summary = await checkRepo(await resticFor(ctx, name), flags.readDataSubset, ctx.deps);
        emit(ctx, present.checkJson(summary), () => present.checkText(summary));
      }),
    );

  repo
    .command('unlock <name>')
    .description('remove stale restic locks (restic unlock)')
    .option('--remove-all', 'remove every lock, also those of a holder restic believes alive: only when no restic uses the repository')
    .action(
      act(async (ctx, name: string, flags: { removeAll?: boolean }) => {
        const { unlockRepo } = await import('../../engine/offsite/repo.js');
        const restic = await resticFor(ctx, name);
        await unlockRepo(restic, flags.removeAll === true);
        emit(ctx, present.json(restic.repo), () => [`removed the ${flags.removeAll === true ? '' : 'stale '}locks of repository ${name}`]);
      }),
    );
}
