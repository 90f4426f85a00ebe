import { runShell, shellEnv, type ShellOutcome, type ShellSettings } from '../sandbox/shell.js';

export const ON_FAILURE_TIMEOUT_MS = 60_000;

export interface FailureFacts {
  /** The exit code clawback is about to return. */
  exitCode: number;
  /** The sandboxes whose rows failed (empty when the whole run failed before any row). */
  failed: string[];
  /** One line saying what went wrong. */
  message: string;
  /** The run's JSON document, as `--json` would print it. */
  summaryJson: string;
}

/**
 * Runs the user's `--on-failure` command through `sh -c` with the result in its environment:
 * CLAWBACK_RESULT=failed, CLAWBACK_EXIT_CODE, CLAWBACK_FAILED (space-separated names),
 * CLAWBACK_MESSAGE and CLAWBACK_SUMMARY_JSON. Its own failure is reported by the caller, never
 * turned into the backup's failure.
 */
export async function runOnFailure(
  command: string,
  baseEnv: Readonly<Record<string, string | undefined>>,
  facts: FailureFacts,
  settings: ShellSettings,
  timeoutMs = ON_FAILURE_TIMEOUT_MS,
): Promise<ShellOutcome> {
  const env = shellEnv(baseEnv, {
    CLAWBACK_RESULT: 'failed',
    CLAWBACK_EXIT_CODE: String(facts.exitCode),
    CLAWBACK_FAILED: facts.failed.join(' '),
    CLAWBACK_MESSAGE: facts.message,
    CLAWBACK_SUMMARY_JSON: facts.summaryJson,
  });
  return runShell(command, env, timeoutMs, settings);
}
