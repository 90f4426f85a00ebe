import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import { expandHome, type Act, type CliContext } from '../context.js';
import { emit } from '../output.js';

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

export function registerSandbox(program: Command, act: Act): void {
  const sandbox = program.command('sandbox').description('register, inspect and forget agent sandboxes');

  withEntryOptions(sandbox.command('add <name>').description('register a sandbox')).action(
    act(async (ctx, name: string, flags: SandboxFlags) => {
      const present = await import('../present/sandbox.js');
      const { addSandbox } = await import('../../engine/sandbox/sandbox.js');
      const entry = addSandbox(name, toOptions(ctx, flags), ctx.io.cwd, ctx.deps);
      emit(ctx, present.json(entry), () => present.addedText(entry));
    }),
  );

  withEntryOptions(sandbox.command('set <name>').description('change a registered sandbox (an empty hook value removes it)')).action(
    act(async (ctx, name: string, flags: SandboxFlags) => {
      const present = await import('../present/sandbox.js');
      const { setSandbox } = await import('../../engine/sandbox/sandbox.js');
      const entry = setSandbox(name, toOptions(ctx, flags), ctx.io.cwd, ctx.deps);
      emit(ctx, present.json(entry), () => present.text(entry));
    }),
  );

  sandbox
    .command('list')
    .description('list registered sandboxes')
    .action(
      act(async (ctx) => {
        const present = await import('../present/sandbox.js');
        const { listSandboxes, rootExists } = await import('../../engine/sandbox/sandbox.js');
        const listed = listSandboxes(ctx.deps).map((entry) => ({ entry, rootExists: rootExists(entry.root) }));
        emit(ctx, present.listJson(listed), (view) => present.listText(listed, view));
      }),
    );

  sandbox
    .command('show <name>')
    .description('show one sandbox')
    .action(
      act(async (ctx, name: string) => {
        const present = await import('../present/sandbox.js');
        const { getSandbox } = await import('../../store/registry.js');
        const entry = getSandbox(ctx.deps.layout, name);
        emit(ctx, present.json(entry), () => present.text(entry));
      }),
    );

  sandbox
    .command('remove <name>')
    .description('forget a sandbox (its bundles stay on disk)')
    .option('--yes', 'do not ask for confirmation')
    .action(
      act(async (ctx, name: string, flags: { yes?: boolean }) => {
        const present = await import('../present/sandbox.js');
        const { removeSandbox } = await import('../../engine/sandbox/sandbox.js');
        const { getSandbox } = await import('../../store/registry.js');
        getSandbox(ctx.deps.layout, name);
        if (!flags.yes) await confirm(ctx, { question: present.removeQuestion(name), refusing: `removing ${name}` });
        const entry = removeSandbox(name, ctx.deps);
        emit(ctx, present.removedJson(entry), () => present.removedText(entry, `${ctx.deps.layout.bundlesRoot}/${name}`));
      }),
    );
}
