/**
 * An agent id as it may name a directory (`workspaces/<id>`): QwenPaw's own rule, 2–64 letters,
 * digits, `_` and `-`, starting and ending with a letter or digit. Capture only records ids that
 * pass it (QwenPaw profiles are read through it), archive import refuses any other, and restore
 * checks a bundle's mounts with it before making a directory: so no id clawback wrote is refused,
 * and a hand-edited bundle cannot place a directory that an import of the same data would refuse.
 */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}[A-Za-z0-9]$/;

export function isAgentId(id: string): boolean {
  return AGENT_ID_PATTERN.test(id);
}
