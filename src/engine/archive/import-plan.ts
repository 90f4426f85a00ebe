import path from 'node:path';
import { RefusedError } from '../../errors.js';
import { completeBundles, PARTIAL_SUFFIX, type BundleRecord } from '../../store/bundles.js';
import { freeTimestamp } from '../bundle/timestamp.js';
import type { ImportPlan, ImportRequest, OriginKey } from './types.js';

function identityOf(record: BundleRecord, key: OriginKey): string | undefined {
  const header = record.header;
  if (!header) return undefined;
  const fromOrigin = header.origin?.[key];
  if (fromOrigin !== undefined) return fromOrigin;
  return key === 'clawbackId' ? `${header.sandboxName}@${header.timestamp}` : undefined;
}

/** Refuses an archive imported before (unless --overwrite), and picks the new bundle's timestamp and label. */
export function planImport(request: ImportRequest, records: BundleRecord[], sandboxDir: string, key: OriginKey, id: string, suggested: string | null, time: Date): ImportPlan {
  const complete = completeBundles(records);
  const replaces = complete.filter((r) => identityOf(r, key) === id);
  if (replaces.length > 0 && request.overwrite !== true) {
    const existing = replaces[0]!;
    throw new RefusedError('already-imported', `${request.sandbox} already holds this archive's snapshot (${key === 'qwenpawId' ? 'QwenPaw backup ' : ''}${id}) as ${existing.timestamp}${existing.header?.name ? ` "${existing.header.name}"` : ''}`, {
      hint: 'pass --overwrite to replace it',
    });
  }
  const others = complete.filter((r) => !replaces.includes(r));
  const taken = new Set(others.map((r) => r.header.name).filter((n): n is string => n !== null));
  let label: string | null;
  if (request.label !== undefined) {
    if (taken.has(request.label)) {
      throw new RefusedError('duplicate-name', `${request.sandbox} already has a snapshot named ${JSON.stringify(request.label)}`, { hint: 'pick another --name' });
    }
    label = request.label;
  } else {
    label = uniqueLabel(labelFromName(suggested), taken);
  }
  const timestamp = freeTimestamp(sandboxDir, time);
  return { timestamp, partialDir: path.join(sandboxDir, timestamp + PARTIAL_SUFFIX), label, replaces };
}

/** A free-form name (a QwenPaw backup's "Backup 2026-04-21 14:11") made a valid label, or null. */
export function labelFromName(name: string | null): string | null {
  if (name === null) return null;
  let label = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[-.]+$/, '');
  if (label === '') return null;
  if (/^v\d+$/.test(label) || label === 'latest') label = `imported-${label}`;
  return label;
}

function uniqueLabel(base: string | null, taken: Set<string>): string | null {
  if (base === null || !taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = base.slice(0, 63 - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}
