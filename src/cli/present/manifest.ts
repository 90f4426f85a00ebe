import type { AgentManifest } from '../../manifest/agent-manifest.js';
import type { JsonDocument } from './document.js';

export interface ManifestShowDocument extends JsonDocument {
  kind: string;
  yaml: string;
}

export interface ManifestCheckDocument extends JsonDocument {
  file: string;
  ok: true;
  agent: string;
  capture: 'whole' | 'selective';
  modules: Array<{ name: string; secret: boolean; globs: string[] }>;
  exclude: string[];
  excludeExcept: string[];
  machineLocal: string[];
  managedLinks: string[];
  agentDirs: string[];
}

export function showJson(kind: string, yaml: string): ManifestShowDocument {
  return { schemaVersion: 1, kind, yaml };
}

export function showText(yaml: string): string[] {
  return yaml.replace(/\n$/, '').split('\n');
}

export function checkJson(file: string, m: AgentManifest): ManifestCheckDocument {
  return {
    schemaVersion: 1,
    file,
    ok: true,
    agent: m.agent,
    capture: m.capture,
    modules: m.modules.map((mod) => ({ name: mod.name, secret: mod.secret, globs: [...mod.globs] })),
    exclude: [...m.exclude],
    excludeExcept: [...m.excludeExcept],
    machineLocal: [...m.machineLocal],
    managedLinks: [...m.managedLinks],
    agentDirs: [...m.agentDirs],
  };
}

export function checkText(file: string, m: AgentManifest): string[] {
  const modules = m.modules.map((mod) => (mod.secret ? `${mod.name} (secret)` : mod.name)).join(', ');
  const counts = [
    `${m.exclude.length} exclude(s)`,
    ...(m.excludeExcept.length ? [`${m.excludeExcept.length} exception(s)`] : []),
    `${m.machineLocal.length} machine-local`,
    ...(m.managedLinks.length ? [`${m.managedLinks.length} managed link glob(s)`] : []),
  ];
  return [`OK ${file}: agent ${m.agent}, ${m.capture} capture, ${m.modules.length} module(s) [${modules}], ${counts.join(', ')}`];
}
