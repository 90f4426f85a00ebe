import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import { expandHome, type Act, type CliContext } from '../context.js';
import { emit } from '../output.js';
import * as present from '../present/sandbox.js';

interface SandboxFlags {
  agent?: string;
  root?: string;
  secretsRoot?: string;
  hookRunning?: string;
  hookStop?: string;
  hookStart?: string;
  hookRecreate?: string;
  via?: string;
}

function withEntryOptions(command: Command): Command {
  return command
    .option('--agent <kind|manifest.yaml>', 'openclaw, hermes, deepagents, qwenpaw, or a YAML manifest path')
    .option('--root <dir>', 'the state root (an absolute path inside the target with --via)')
    .option('--via <transport>', "how the root is reached: local (default), ssh:[user@]host[:port], openshell:NAME[@gw], docker:C, podman:C, kubectl:[ns/]pod[:c], exec:'CMD'")
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
  // A path inside a remote target is never this host's: `~` there is not our home.
  const remote = flags.via !== undefined && flags.via !== 'local';
  const place = (dir: string): string => (remote ? dir : expandHome(dir, home));
  return {
    ...(flags.agent ? { agent: expandHome(flags.agent, home) } : {}),
    ...(flags.root ? { root: place(flags.root) } : {}),
    ...(flags.secretsRoot ? { secretsRoot: place(flags.secretsRoot) } : {}),
    ...(flags.via !== undefined ? { via: flags.via } : {}),
    hooks,
  };
}

export function registerSandbox(program: Command, act: Act): void {
  const sandbox = program.command('sandbox').description('register, inspect and forget agent sandboxes');

  withEntryOptions(sandbox.command('add <name>').description('register a sandbox')).action(
    act(async (ctx, name: string, flags: SandboxFlags) => {
      const { addSandbox } = await import('../../engine/sandbox/sandbox.js');
      const entry = addSandbox(name, toOptions(ctx, flags), ctx.io.cwd, ctx.deps);
      emit(ctx, present.json(entry), () => present.addedText(entry));
    }),
  );

  withEntryOptions(sandbox.command('set <name>').description('change a registered sandbox (an empty hook value removes it)')).action(
    act(async (ctx, name: string, flags: SandboxFlags) => {
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
        const { listSandboxes, rootExists } = await import('../../engine/sandbox/sandbox.js');
        // A remote root is not checked here (that would connect to every target): `sandbox check` does.
        const listed = listSandboxes(ctx.deps).map((entry) => ({ entry, rootExists: entry.via === undefined ? rootExists(entry.root) : null }));
        emit(ctx, present.listJson(listed), (view) => present.listText(listed, view));
      }),
    );

  sandbox
    .command('show <name>')
    .description('show one sandbox')
    .action(
      act(async (ctx, name: string) => {
        const { getSandbox } = await import('../../store/registry.js');
        const entry = getSandbox(ctx.deps.layout, name);
        emit(ctx, present.json(entry), () => present.text(entry));
      }),
    );

  sandbox
    .command('check <name>')
    .description('connect to the sandbox\'s target and say what it offers (sh, tar, find, stat, sha256sum, python3/sqlite3) and what that means')
    .action(
      act(async (ctx, name: string) => {
        const { checkSandbox } = await import('../../engine/sandbox/check.js');
        const checked = await import('../present/sandbox-check.js');
        const result = await checkSandbox(name, ctx.deps);
        emit(ctx, checked.json(result), () => checked.text(result));
        // A target that cannot be snapshotted is unreachable for clawback's purposes.
        return result.snapshots && result.rootExists ? undefined : 8;
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
        if (!flags.yes) await confirm(ctx, { question: present.removeQuestion(name), refusing: `removing ${name}` });
        const entry = removeSandbox(name, ctx.deps);
        emit(ctx, present.removedJson(entry), () => present.removedText(entry, `${ctx.deps.layout.bundlesRoot}/${name}`));
      }),
    );
}
