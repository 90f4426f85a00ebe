import type { Command } from 'commander';
import { emit } from '../output.js';
import type { Act } from '../program.js';

export function registerDiscover(program: Command, act: Act): void {
  program
    .command('discover')
    .description('find agent homes on this host (~/.openclaw, ~/.hermes, ~/.deepagents, QwenPaw) and, with --yes, register them')
    .option('--yes', 'register every unregistered home found')
    .action(
      act(async (ctx, flags: { yes?: boolean }) => {
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
        const added = flags.yes ? registerFound(found, ctx.deps) : [];
        const final = found.map((f) => added.find((a) => a.root === f.root) ?? f);
        emit(ctx, { found: final, registered: added }, () => {
          if (final.length === 0) return ['no agent homes found'];
          const lines = final.map((f) => `${f.registeredAs ? '✓' : '-'} ${f.agent.padEnd(10)} ${f.root}${f.registeredAs ? `  (registered as ${f.registeredAs})` : ''}`);
          if (!flags.yes && final.some((f) => !f.registeredAs)) lines.push('', 'register them with: clawback discover --yes');
          return lines;
        });
      }),
    );
}
