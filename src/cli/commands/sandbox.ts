import type { Command } from 'commander';
import { RefusedError } from '../../errors.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { CliContext } from '../context.js';
import { expandHome } from '../context.js';
import { emit } from '../output.js';
import type { Act } from '../program.js';
import { renderTable } from '../present/table.js';

interface SandboxFlags {
  agent?: string;
  root?: string;
  secretsRoot?: string;
  hookRunning?: string;
  hookStop?: string;
  hookStart?: string;
  hookRecreate?: string;
}

function withEntryOptions(command: Command): Command {
  return command
    .option('--agent <kind|manifest.yaml>', 'openclaw, hermes, deepagents, qwenpaw, or a YAML manifest path')
    .option('--root <dir>', 'the state root on this host')
    .option('--secrets-root <dir>', 'a separate secrets directory')
    .option('--hook-running <cmd>', 'exits 0 when the agent runs')
    .option('--hook-stop <cmd>', 'stops the agent')
    .option('--hook-start <cmd>', 'starts the agent')
    .option('--hook-recreate <cmd>', 'lays down a fresh agent home (rebuild)');
}

function toOptions(ctx: CliContext, flags: SandboxFlags) {
  const home = ctx.io.homedir;
  const hooks: Record<string, string> = {};
  if (flags.hookRunning !== undefined) hooks.running = flags.hookRunning;
  if (flags.hookStop !== undefined) hooks.stop = flags.hookStop;
  if (flags.hookStart !== undefined) hooks.start = flags.hookStart;
  if (flags.hookRecreate !== undefined) hooks.recreate = flags.hookRecreate;
  return {
    ...(flags.agent ? { agent: expandHome(flags.agent, home) } : {}),
    ...(flags.root ? { root: expandHome(flags.root, home) } : {}),
    ...(flags.secretsRoot ? { secretsRoot: expandHome(flags.secretsRoot, home) } : {}),
    hooks,
  };
}

function entryLines(entry: SandboxEntry): string[] {
  const lines = [`name:     ${entry.name}`, `agent:    ${entry.agent}`, `root:     ${entry.root}`];
  if (entry.secretsRoot) lines.push(`secrets:  ${entry.secretsRoot}`);
  for (const [hook, cmd] of Object.entries(entry.hooks)) lines.push(`hook ${hook}: ${cmd}`);
  if (entry.policyPresets.length) lines.push(`policy presets: ${entry.policyPresets.join(', ')}`);
  if (entry.customPolicies.length) lines.push(`custom policies: ${entry.customPolicies.map((p) => p.name).join(', ')}`);
  return lines;
}

export function registerSandbox(program: Command, act: Act): void {
  const sandbox = program.command('sandbox').description('register, inspect and forget agent sandboxes');

  withEntryOptions(sandbox.command('add <name>').description('register a sandbox')).action(
    act(async (ctx, name: string, flags: SandboxFlags) => {
      const { addSandbox } = await import('../../engine/sandbox/sandbox.js');
      const entry = addSandbox(name, toOptions(ctx, flags), ctx.io.cwd, ctx.deps);
      emit(ctx, { sandbox: entry }, () => [`registered ${entry.name} (${entry.agent}) at ${entry.root}`]);
    }),
  );

  withEntryOptions(sandbox.command('set <name>').description('change a registered sandbox (an empty hook value removes it)')).action(
    act(async (ctx, name: string, flags: SandboxFlags) => {
      const { setSandbox } = await import('../../engine/sandbox/sandbox.js');
      const entry = setSandbox(name, toOptions(ctx, flags), ctx.io.cwd, ctx.deps);
      emit(ctx, { sandbox: entry }, () => entryLines(entry));
    }),
  );

  sandbox
    .command('list')
    .description('list registered sandboxes')
    .action(
      act(async (ctx) => {
        const { listSandboxes, rootExists } = await import('../../engine/sandbox/sandbox.js');
        const entries = listSandboxes(ctx.deps);
        emit(ctx, { sandboxes: entries.map((e) => ({ ...e, rootExists: rootExists(e.root) })) }, () =>
          entries.length === 0
            ? ['no sandboxes registered (try `clawback discover`)']
            : renderTable(['Name', 'Agent', 'Root', 'Root exists'], entries.map((e) => [e.name, e.agent, e.root, rootExists(e.root) ? 'yes' : 'no'])),
        );
      }),
    );

  sandbox
    .command('show <name>')
    .description('show one sandbox')
    .action(
      act(async (ctx, name: string) => {
        const { getSandbox } = await import('../../store/registry.js');
        const entry = getSandbox(ctx.deps.layout, name);
        emit(ctx, { sandbox: entry }, () => entryLines(entry));
      }),
    );

  sandbox
    .command('remove <name>')
    .description('forget a sandbox (its bundles stay on disk)')
    .option('--yes', 'do not ask for confirmation')
    .action(
      act(async (ctx, name: string, flags: { yes?: boolean }) => {
        const { removeSandbox } = await import('../../engine/sandbox/sandbox.js');
        const { getSandbox } = await import('../../store/registry.js');
        getSandbox(ctx.deps.layout, name);
        if (!flags.yes) {
          if (!ctx.interactive) throw new RefusedError('confirmation-missing', `not removing ${name} without confirmation`, { hint: 'pass --yes' });
          const answer = await ctx.io.prompt(`forget sandbox ${name}? its bundles stay on disk [y/N] `);
          if (!/^y(es)?$/i.test(answer.trim())) throw new RefusedError('confirmation-missing', 'not confirmed');
        }
        const entry = removeSandbox(name, ctx.deps);
        emit(ctx, { removed: entry }, () => [`forgot ${name}; its bundles stay in ${ctx.deps.layout.bundlesRoot}/${name}`]);
      }),
    );
}
