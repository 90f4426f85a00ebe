import { sendPing, type PingKind } from '../engine/notify/ping.js';
import { runOnFailure } from '../engine/notify/on-failure.js';
import { describeShellEnd } from '../engine/sandbox/shell.js';
import { asUserError, ClawbackError, UsageError } from '../errors.js';
import type { CliContext } from './context.js';
import { hookSettings } from './hook-settings.js';

/** The environment keeps one variable under 128 KiB; a bigger summary is cut to its counts. */
const MAX_SUMMARY_CHARS = 100_000;
const PING_HINT = 'give the check\'s ping URL, e.g. --ping https://hc-ping.com/<uuid>';

export interface RunEnd {
  exitCode: number;
  failed: string[];
  message: string;
  summary: unknown;
}

/**
 * Tells the outside world how a scheduled run went: `--ping URL` (healthchecks.io convention) and
 * `--on-failure CMD`. Nothing here can change the run's exit code; problems are warnings.
 */
export class RunNotifier {
  private constructor(
    private readonly ctx: CliContext,
    private readonly pingBase: string | undefined,
    private readonly onFailure: string | undefined,
  ) {}

  static from(ctx: CliContext, flags: { ping?: string; onFailure?: string }): RunNotifier {
    if (flags.ping !== undefined) checkPingUrl(flags.ping);
    if (flags.onFailure !== undefined && flags.onFailure.trim() === '') throw new UsageError('--on-failure needs a command', { hint: 'e.g. --on-failure \'mail -s "clawback failed" me@example.com\'' });
    return new RunNotifier(ctx, flags.ping, flags.onFailure);
  }

  async started(): Promise<void> {
    await this.ping('start', '');
  }

  async finished(end: RunEnd): Promise<void> {
    const body = JSON.stringify(end.summary);
    await this.ping(end.exitCode === 0 ? 'success' : 'fail', body);
    if (end.exitCode !== 0 && this.onFailure !== undefined) await this.runFailureCommand(end, body);
  }

  /** For a run that threw before it had a summary (an empty registry, a broken home). */
  async crashed(thrown: unknown, exitCode: number): Promise<void> {
    const error = asUserError(thrown);
    const message = error instanceof Error ? error.message : String(error);
    const summary = { error: { code: error instanceof ClawbackError ? error.code : 'internal', message, exitCode } };
    await this.finished({ exitCode, failed: [], message, summary });
  }

  private async ping(kind: PingKind, body: string): Promise<void> {
    if (this.pingBase === undefined) return;
    const outcome = await sendPing(this.pingBase, kind, body);
    if (outcome.problem !== undefined) this.ctx.deps.events.warning?.(`the ${kind} ping to ${outcome.url} failed: ${outcome.problem}`);
  }

  private async runFailureCommand(end: RunEnd, body: string): Promise<void> {
    const summaryJson = body.length <= MAX_SUMMARY_CHARS ? body : JSON.stringify({ truncated: true, exitCode: end.exitCode, failed: end.failed });
    const outcome = await runOnFailure(this.onFailure!, this.ctx.io.env, { exitCode: end.exitCode, failed: end.failed, message: end.message, summaryJson }, hookSettings(this.ctx));
    if (outcome.notStarted !== undefined) {
      this.ctx.deps.events.warning?.(`the --on-failure command could not be started: ${outcome.notStarted}`);
    } else if (outcome.exitCode !== 0 || outcome.timedOut) {
      const tail = outcome.outputTail.length > 0 ? `; last output: ${outcome.outputTail.at(-1)}` : '';
      this.ctx.deps.events.warning?.(`the --on-failure command ${describeShellEnd(outcome)}${tail}`);
    }
  }
}

function checkPingUrl(raw: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--ping ${JSON.stringify(raw)} is not a URL`, { hint: PING_HINT });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--ping ${JSON.stringify(raw)} is not an http or https URL`, { hint: PING_HINT });
  }
}
