import { hash } from 'node:crypto';

/** Length of a snapshot's short id, in hex characters. */
export const SHORT_ID_LENGTH = 8;
/** The shortest prefix of a short id a selector may give. */
export const SHORT_ID_MIN_PREFIX = 4;

/**
 * A snapshot's short id: the first 8 hex characters of sha256(`<sandbox>\0<timestamp>`). Computed,
 * never stored, so every bundle has one (old ones and NemoClaw's too) and it never changes while the
 * bundle lives. The sandbox is the one the bundle is filed under, so the same timestamp under
 * another sandbox (an import, a copy) has another id.
 */
export function shortIdOf(sandbox: string, timestamp: string): string {
  // One-shot: a Hash object per bundle cost `snapshot list` of 500 bundles ~50 ms.
  return hash('sha256', `${sandbox}\0${timestamp}`, 'hex').slice(0, SHORT_ID_LENGTH);
}

/** A selector that can only mean a short-id prefix: 4 to 8 hex characters (either case). */
export function isShortIdPrefix(selector: string): boolean {
  return new RegExp(`^[0-9a-fA-F]{${SHORT_ID_MIN_PREFIX},${SHORT_ID_LENGTH}}$`).test(selector);
}
