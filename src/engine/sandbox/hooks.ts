import { HookError } from '../../errors.js';
import type { SandboxEntry, SandboxHooks } from '../../store/registry.js';
import { describeShellEnd, runShell, shellEnv, type ShellOutcome, type ShellSettings } from './shell.js';

export type HookName = keyof SandboxHooks;

/** A recreate hook may install an agent (npm, a container pull); the others should be quick. */
export const DEFAULT_HOOK_TIMEOUT_MS: Readonly<Record<HookName, number>> = {
  running: 30_000,
  stop: 30_000,
  start: 30_000,
  recreate: 600_000,
};

/** How hooks run. The CLI passes its environment, cwd and host functions; the engine reads none of them itself. */
export interface HookSettings extends ShellSettings {
  /** Inherited by every hook; CLAWBACK_SANDBOX, CLAWBACK_ROOT, CLAWBACK_VIA (the transport, `local` by default), CLAWBACK_HOOK and CLAWBACK_HOME are added. */
  env: Readonly<Record<string, string | undefined>>;
  /** Overrides the default timeout of every hook (tests, slow hosts). */
  timeoutMs?: number;
}

export interface HookOutcome extends Omit<ShellOutcome, 'notStarted'> {
  hook: HookName;
}

export function hookTimeoutMs(hook: HookName, settings: HookSettings): number {
  return settings.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS[hook];
}

/**
 * Runs one registry hook through `sh -c` (see runShell) with the sandbox's name and root in the
 * environment and stdin closed (hooks never prompt). Returns the outcome whatever the exit status;
 * throws HookError only when it could not be started.
 */
export async function runHook(
  entry: SandboxEntry,
  hook: HookName,
  settings: HookSettings,
  extraEnv: Record<string, string> = {},
  onStarted?: (processGroup: number) => void,
): Promise<HookOutcome> {
  const command = entry.hooks[hook];
  if (command === undefined) throw new Error(`runHook called for a missing ${hook} hook`);
  const env = shellEnv(settings.env, { CLAWBACK_SANDBOX: entry.name, CLAWBACK_ROOT: entry.root, CLAWBACK_VIA: entry.via ?? 'local', CLAWBACK_HOOK: hook, ...extraEnv });
  const { notStarted, ...outcome } = await runShell(command, env, hookTimeoutMs(hook, settings), settings, onStarted);
  if (notStarted !== undefined) {
    throw new HookError('hook-not-started', `could not run the ${hook} hook of ${entry.name}: ${notStarted}`, undefined, {
      hint: hookHint(entry.name, hook, command),
    });
  }
  return { hook, ...outcome };
}

/** Runs a hook that must succeed; throws HookError with the output's tail otherwise. */
export async function runRequiredHook(
  entry: SandboxEntry,
  hook: HookName,
  settings: HookSettings,
  extraEnv: Record<string, string> = {},
  onStarted?: (processGroup: number) => void,
): Promise<HookOutcome> {
  const outcome = await runHook(entry, hook, settings, extraEnv, onStarted);
  if (outcome.exitCode !== 0 || outcome.timedOut) throw hookFailure(entry.name, outcome);
  return outcome;
}

export function hookFailure(sandbox: string, outcome: HookOutcome): HookError<HookOutcome> {
  const how = describeShellEnd(outcome);
  const details = outcome.outputTail.length > 0 ? ['output (last lines):', ...outcome.outputTail.map((line) => `  ${line}`)] : ['(no output)'];
  return new HookError(outcome.timedOut ? 'hook-timeout' : 'hook-failed', `the ${outcome.hook} hook of ${sandbox} ${how}`, outcome, {
    hint: hookHint(sandbox, outcome.hook, outcome.command),
    details,
  });
}

function hookHint(sandbox: string, hook: HookName, command: string): string {
  return `the hook runs \`${command}\`; change it with \`clawback sandbox set ${sandbox} --hook-${hook} CMD\``;
}
