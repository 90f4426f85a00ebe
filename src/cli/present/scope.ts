import type { SnapshotScope } from '../../engine/bundle/scope.js';

/** A snapshot's scope in JSON: `modules`/`agents` null mean all of them; `secrets` whether secret modules were captured. */
export interface ScopeJson {
  full: boolean;
  modules: string[] | null;
  agents: string[] | null;
  secrets: boolean;
}

export function scopeJson(scope: SnapshotScope): ScopeJson {
  return { full: scope.full, modules: scope.modules ? [...scope.modules] : null, agents: scope.agents ? [...scope.agents] : null, secrets: scope.secrets };
}

/** One line for a table cell: `full`, or the modules, agents and secrets a partial snapshot holds. */
export function scopeText(scope: SnapshotScope): string {
  const parts = scope.full ? ['full'] : [scope.modules?.join(',') ?? 'all modules'];
  if (scope.agents) parts.push(`agent ${scope.agents.join(',')}`);
  if (!scope.secrets) parts.push('no secrets');
  return parts.join('; ');
}
