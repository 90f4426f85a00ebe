import { DATA_PREFIX } from './meta.js';
import { isAgentId } from '../../manifest/agent-id.js';

/** The four kinds of content a QwenPaw backup holds, in the order clawback writes them. */
export const QWENPAW_SECTIONS = ['config', 'workspaces', 'skill_pool', 'secrets'] as const;
export type QwenPawSection = (typeof QWENPAW_SECTIONS)[number];

export interface LayoutPlace {
  section: QwenPawSection;
  /** For workspaces: the agent id. */
  agent?: string;
}

/**
 * Where a bundle payload path sits in QwenPaw's layout (which the bundle
 * mirrors, minus the `data/` prefix), or undefined when it has no place there:
 * `config.json`, `workspaces/<agent_id>/...`, `skill_pool/...`, `secrets/...`.
 * Only paths below the section roots count; QwenPaw's zips hold files only.
 */
export function layoutPlace(payloadPath: string): LayoutPlace | undefined {
  if (payloadPath === 'config.json') return { section: 'config' };
  const slash = payloadPath.indexOf('/');
  if (slash <= 0) return undefined;
  const top = payloadPath.slice(0, slash);
  const rest = payloadPath.slice(slash + 1);
  if (top === 'skill_pool' || top === 'secrets') return { section: top };
  if (top !== 'workspaces') return undefined;
  const cut = rest.indexOf('/');
  if (cut <= 0) return undefined;
  const agent = rest.slice(0, cut);
  return isAgentId(agent) ? { section: 'workspaces', agent } : undefined;
}

export function zipNameOf(payloadPath: string): string {
  return DATA_PREFIX + payloadPath;
}

/** The bundle payload path of a zip entry under `data/`, or undefined for anything else (meta.json included). */
export function payloadPathOf(zipName: string): string | undefined {
  if (!zipName.startsWith(DATA_PREFIX)) return undefined;
  const rel = zipName.slice(DATA_PREFIX.length);
  return layoutPlace(rel) ? rel : undefined;
}

