import type { Command } from 'commander';
import type { Act } from '../context.js';
import { emit } from '../output.js';

export function registerDiscover(program: Command, act: Act): void {
  program
    .command('discover')
    .description('find agent homes on this host (~/.openclaw, ~/.hermes, ~/.deepagents, QwenPaw) and, with --yes, register them')
    .option('--yes', 'register every unregistered home found')
    .action(
      act(async (ctx, flags: { yes?: boolean }) => {
        const present = await import('../present/discover.js');
        const { discoverHomes, registerFound } = await import('../../engine/sandbox/discover.js');
        const env = ctx.io.env;
        const found = discoverHomes(
          {
            homedir: ctx.io.homedir,
            ...(env.QWENPAW_WORKING_DIR ? { qwenpawWorkingDir: env.QWENPAW_WORKING_DIR } : {}),
            ...(env.COPAW_WORKING_DIR ? { copawWorkingDir: env.COPAW_WORKING_DIR } : {}),
            ...(env.QWENPAW_SECRET_DIR ? { qwenpawSecretDir: env.QWENPAW_SECRET_DIR } : {}),
          },
          ctx.deps,
        );
        const registered = flags.yes ? registerFound(found, ctx.deps) : [];
        const result = { found: found.map((f) => registered.find((a) => a.root === f.root) ?? f), registered, registering: flags.yes === true };
        emit(ctx, present.json(result), () => present.text(result));
      }),
    );
}
