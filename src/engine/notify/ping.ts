/** A healthchecks.io-style ping: `URL/start` when a run begins, `URL` on success, `URL/fail` on failure. */
export type PingKind = 'start' | 'success' | 'fail';

export interface PingOutcome {
  kind: PingKind;
  url: string;
  /** The HTTP status, when the server answered. */
  status?: number;
  /** Why the ping did not reach the server, or what it answered. Absent when it was accepted (2xx). */
  problem?: string;
}

export const PING_TIMEOUT_MS = 10_000;

export function pingUrl(base: string, kind: PingKind): string {
  const trimmed = base.replace(/\/+$/, '');
  return kind === 'success' ? trimmed : `${trimmed}/${kind}`;
}

/**
 * Sends one ping (POST, the body being the run's JSON summary) with a short timeout. Never throws:
 * a monitoring service that is down must not fail the backup it monitors.
 */
export async function sendPing(base: string, kind: PingKind, body: string, timeoutMs = PING_TIMEOUT_MS): Promise<PingOutcome> {
  const url = pingUrl(base, kind);
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'clawback' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Drain the answer so the connection is released before the process exits.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { kind, url, status: response.status };
    return { kind, url, status: response.status, problem: `the server answered ${response.status} ${response.statusText}`.trim() };
  } catch (error) {
    return { kind, url, problem: reasonOf(error, timeoutMs) };
  }
}

function reasonOf(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return cause === undefined ? message : `${message} (${cause})`;
}
