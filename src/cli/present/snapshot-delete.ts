import type { DeletedBundle, DeleteSummary } from '../../engine/retention/delete.js';
import type { JsonDocument } from './document.js';
import { formatBytes } from './format.js';

export interface DeletedBundleJson {
  id: string;
  timestamp: string;
  version: number | null;
  name: string | null;
  state: 'complete' | 'partial' | 'corrupt';
  files: number | null;
  bytes: number | null;
}

export interface DeleteDocument extends JsonDocument {
  sandbox: string;
  deleted: DeletedBundleJson[];
  freedBytes: number;
}

export function deletedBundleJson(b: DeletedBundle): DeletedBundleJson {
  return { id: b.id, timestamp: b.timestamp, version: b.version, name: b.name, state: b.state, files: b.files, bytes: b.bytes };
}

export function bundleLabel(b: Pick<DeletedBundle, 'version' | 'id' | 'name' | 'state'>): string {
  const version = b.version !== null ? `v${b.version} ` : '';
  const state = b.state === 'complete' ? '' : ` (${b.state === 'partial' ? 'incomplete' : 'corrupt'})`;
  return `${version}${b.id}${b.name ? ` "${b.name}"` : ''}${state}`;
}

export function json(s: DeleteSummary): DeleteDocument {
  return { schemaVersion: 1, sandbox: s.sandbox, deleted: s.deleted.map(deletedBundleJson), freedBytes: s.freedBytes };
}

export function text(s: DeleteSummary): string[] {
  return [...s.deleted.map((b) => `deleted ${bundleLabel(b)}`), `${s.deleted.length} snapshot(s) deleted, ${formatBytes(s.freedBytes)} freed`];
}

/** The confirmation of a delete, from what it would remove. */
export function confirmation(sandbox: string, planned: DeletedBundle[]): { question: string; refusing: string } {
  const names = planned.map(bundleLabel).join(', ');
  return { question: `delete ${planned.length} snapshot(s) of ${sandbox}: ${names}?`, refusing: `deleting ${names}` };
}
