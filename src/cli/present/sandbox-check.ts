import type { TargetCheck } from '../../engine/sandbox/check.js';
import type { JsonDocument } from './document.js';

export interface SandboxCheckDocument extends JsonDocument {
  check: {
    sandbox: string;
    via: string;
    root: string;
    rootExists: boolean;
    user: string;
    tools: Record<string, boolean>;
    tar: string | null;
    databases: 'python3' | 'sqlite3' | 'raw';
    snapshots: boolean;
    restores: boolean;
    notes: string[];
  };
}

export function json(check: TargetCheck): SandboxCheckDocument {
  return { schemaVersion: 1, check: { ...check, tools: { ...check.tools }, notes: [...check.notes] } };
}

export function text(check: TargetCheck): string[] {
  const have = Object.entries(check.tools).filter(([, ok]) => ok).map(([tool]) => tool);
  const lack = Object.entries(check.tools).filter(([, ok]) => !ok).map(([tool]) => tool);
  return [
    `${check.sandbox} via ${check.via}, as ${check.user}: root ${check.root} ${check.rootExists ? 'exists' : 'does NOT exist'}`,
    `  tar: ${check.tar ?? 'none'}; found: ${have.join(', ') || 'nothing'}${lack.length > 0 ? `; missing: ${lack.join(', ')}` : ''}`,
    `  snapshots: ${check.snapshots ? 'yes' : 'no'}; restores: ${check.restores ? 'yes' : 'no'}; databases: ${check.databases === 'raw' ? 'raw (no SQLite in the target)' : `through ${check.databases} in the target`}`,
    ...check.notes.map((note) => `  - ${note}`),
  ];
}
