import type { FoundHome } from '../../engine/sandbox/discover.js';
import type { JsonDocument } from './document.js';

export interface FoundHomeJson {
  name: string;
  agent: string;
  root: string;
  secretsRoot?: string;
  /** The transport it was found through (`discover --via`); absent on this host. */
  via?: string;
  /** Absent when the home is not registered. */
  registeredAs?: string;
}

export interface DiscoverDocument extends JsonDocument {
  found: FoundHomeJson[];
  registered: FoundHomeJson[];
}

export interface DiscoverResult {
  /** Every home found, as registered after this run. */
  found: FoundHome[];
  /** The homes this run registered (--yes). */
  registered: FoundHome[];
  /** --yes was given. */
  registering: boolean;
}

function homeJson(home: FoundHome): FoundHomeJson {
  return {
    name: home.name,
    agent: home.agent,
    root: home.root,
    ...(home.secretsRoot !== undefined ? { secretsRoot: home.secretsRoot } : {}),
    ...(home.via !== undefined ? { via: home.via } : {}),
    ...(home.registeredAs !== undefined ? { registeredAs: home.registeredAs } : {}),
  };
}

export function json(result: DiscoverResult): DiscoverDocument {
  return { schemaVersion: 1, found: result.found.map(homeJson), registered: result.registered.map(homeJson) };
}

export function text(result: DiscoverResult): string[] {
  const found = result.found;
  if (found.length === 0) return ['no agent homes found'];
  const lines = found.map((f) => `${f.registeredAs ? '✓' : '-'} ${f.agent.padEnd(10)} ${f.root}${f.via !== undefined ? ` via ${f.via}` : ''}${f.registeredAs ? `  (registered as ${f.registeredAs})` : ''}`);
  if (!result.registering && found.some((f) => !f.registeredAs)) lines.push('', `register them with: clawback discover --yes${found[0]!.via !== undefined ? ` --via '${found[0]!.via}'` : ''}`);
  return lines;
}
