import type { HookSettings } from '../engine/sandbox/hooks.js';
import { UsageError } from '../errors.js';
import type { CliContext } from './context.js';

/**
 * How registry hooks run for this invocation: they inherit clawback's environment and cwd.
 * CLAWBACK_HOOK_TIMEOUT (seconds) overrides every hook's default timeout (30 s; recreate 10 min).
 */
export function hookSettings(ctx: CliContext): HookSettings {
  const settings: HookSettings = { env: ctx.io.env, cwd: ctx.io.cwd, tmpDir: ctx.deps.host.tmpDir, clock: ctx.deps.clock, signalGroup: ctx.deps.host.signalGroup };
  const raw = ctx.io.env.CLAWBACK_HOOK_TIMEOUT;
  if (raw !== undefined && raw !== '') {
    const seconds = Number(raw);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new UsageError(`CLAWBACK_HOOK_TIMEOUT=${JSON.stringify(raw)} is not a positive number of seconds`);
    }
    settings.timeoutMs = Math.round(seconds * 1000);
  }
  return settings;
}
