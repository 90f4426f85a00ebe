import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { completions, completionScript } from '../completion.js';
import { homeLayout } from '../../store/home.js';
import { resolveHome, type Act } from '../context.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

export function registerCompletion(program: Command, act: Act): void {
  program
    .command('completion <shell>')
    .description('print a completion script for bash, zsh or fish (verbs, sandbox names, selectors)')
    .addHelpText('after', '\nExamples:\n  source <(clawback completion bash)              # in ~/.bashrc\n  clawback completion fish > ~/.config/fish/completions/clawback.fish')
    .action(
      act(async (ctx, shell: string) => {
        if (!SHELLS.includes(shell as Shell)) throw new UsageError(`no completion for ${JSON.stringify(shell)}`, { hint: `one of ${SHELLS.join(', ')}` });
        // The script calls this very node and clawback, so it works wherever they are (npx, nvm, a checkout).
        const script = process.argv[1] ?? '';
        ctx.io.stdout.write(completionScript(shell as Shell, process.execPath, fs.existsSync(script) ? fs.realpathSync(script) : path.resolve(script)));
      }),
    );

  // What the scripts call: the words typed so far, the last one under the cursor. Never fails loudly.
  program
    .command('__complete [words...]', { hidden: true })
    .allowUnknownOption()
    .action(
      act(async (ctx, words: string[] = []) => {
        const homeAt = words.indexOf('--home');
        const home = homeAt >= 0 && words[homeAt + 1] !== undefined ? words[homeAt + 1] : undefined;
        const deps = home === undefined ? ctx.deps : { ...ctx.deps, layout: homeLayout(resolveHome({ home }, ctx.io)) };
        const { listSandboxes } = await import('../../engine/sandbox/sandbox.js');
        const { sandboxRecords } = await import('../../engine/bundle/find.js');
        const quietly = <T>(read: () => T[]): T[] => {
          try {
            return read();
          } catch {
            return [];
          }
        };
        const found = completions(program, words.length === 0 ? [''] : words, {
          sandboxes: () => quietly(() => listSandboxes(deps).map((s) => s.name)),
          selectors: (sandbox) =>
            quietly(() => {
              const complete = sandboxRecords(sandbox, deps).filter((r) => r.state === 'complete');
              return ['latest', ...complete.flatMap((r) => [`v${r.version}`, r.timestamp, ...(r.header?.name ? [r.header.name] : [])])];
            }),
        });
        if (found.length > 0) ctx.io.stdout.write(found.join('\n') + '\n');
      }),
    );
}
