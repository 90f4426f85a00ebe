import { IntegrityError } from '../../errors.js';
import { isRecord } from '../../records.js';

/** The `meta.json` at the root of a QwenPaw backup zip (README "Export, import, encryption, QwenPaw"; QwenPaw's `BackupMeta`). */
export interface QwenPawMeta {
  id: string;
  name: string;
  description: string;
  created_at: string;
  version: '1';
  scope: QwenPawScope;
  agent_count: number;
  qwenpaw_version: string;
  system_info: Record<string, string>;
  signature: string | null;
  accepted_via_trust: boolean | null;
}

export interface QwenPawScope {
  include_agents: boolean;
  include_global_config: boolean;
  include_secrets: boolean;
  include_skill_pool: boolean;
}

export const META_FILE = 'meta.json';
export const DATA_PREFIX = 'data/';
/** QwenPaw's own rule for backup ids (`validate_backup_id`); anything else could name a path. */
export const BACKUP_ID = /^[a-zA-Z0-9._-]{1,200}$/;
const SUPPORTED_VERSIONS = new Set(['1']);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `qwenpaw-<version>-<YYYYMMDDTHHMMSSZ>-<short8>`, the version made filesystem-safe as QwenPaw does. */
export function qwenPawBackupId(version: string, time: Date, short8: string): string {
  const safe = version.replace(/[^a-zA-Z0-9._-]/g, '_') || 'unknown';
  const stamp = `${time.getUTCFullYear()}${pad(time.getUTCMonth() + 1)}${pad(time.getUTCDate())}T${pad(time.getUTCHours())}${pad(time.getUTCMinutes())}${pad(time.getUTCSeconds())}Z`;
  return `qwenpaw-${safe}-${stamp}-${short8}`;
}

/** QwenPaw's default backup name, `Backup YYYY-MM-DD HH:mm`, in the local time of the machine making it. */
export function defaultBackupName(time: Date): string {
  return `Backup ${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} ${pad(time.getHours())}:${pad(time.getMinutes())}`;
}


function invalid(file: string, why: string): IntegrityError {
  return new IntegrityError('invalid-qwenpaw-meta', `${file}: meta.json ${why}`, {
    hint: 'the zip is not a QwenPaw backup, or it was damaged; nothing was imported',
  });
}

/**
 * Parses meta.json the way QwenPaw's pydantic model would accept it: `name`
 * required, the rest defaulted; `id` must be a safe backup id and `version`
 * one this build understands.
 */
export function parseQwenPawMeta(text: string, file: string): QwenPawMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(raw)) throw invalid(file, 'is not a JSON object');
  const { id, name } = raw;
  if (typeof id !== 'string' || !BACKUP_ID.test(id)) throw invalid(file, `has an unsafe or missing id ${JSON.stringify(id)}`);
  if (typeof name !== 'string') throw invalid(file, 'has no name');
  const version = raw.version === undefined ? '1' : raw.version;
  if (typeof version !== 'string' || !SUPPORTED_VERSIONS.has(version)) {
    throw invalid(file, `has backup format version ${JSON.stringify(version)}; this clawback reads version 1`);
  }
  const createdAt = typeof raw.created_at === 'string' ? raw.created_at : '';
  if (createdAt !== '' && Number.isNaN(Date.parse(createdAt))) throw invalid(file, `has an unreadable created_at ${JSON.stringify(createdAt)}`);
  const scope = isRecord(raw.scope) ? raw.scope : {};
  const flag = (key: keyof QwenPawScope, fallback: boolean): boolean => (typeof scope[key] === 'boolean' ? (scope[key] as boolean) : fallback);
  const systemInfo = isRecord(raw.system_info)
    ? Object.fromEntries(Object.entries(raw.system_info).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
    : {};
  return {
    id,
    name,
    description: typeof raw.description === 'string' ? raw.description : '',
    created_at: createdAt,
    version: '1',
    // QwenPaw's defaults: everything but secrets.
    scope: {
      include_agents: flag('include_agents', true),
      include_global_config: flag('include_global_config', true),
      include_secrets: flag('include_secrets', false),
      include_skill_pool: flag('include_skill_pool', true),
    },
    agent_count: typeof raw.agent_count === 'number' && Number.isSafeInteger(raw.agent_count) ? raw.agent_count : 0,
    qwenpaw_version: typeof raw.qwenpaw_version === 'string' ? raw.qwenpaw_version : '',
    system_info: systemInfo,
    signature: typeof raw.signature === 'string' ? raw.signature : null,
    accepted_via_trust: typeof raw.accepted_via_trust === 'boolean' ? raw.accepted_via_trust : null,
  };
}

/** Serialised with the field order and indentation of QwenPaw's `model_dump_json(indent=2)`. */
export function serializeQwenPawMeta(meta: QwenPawMeta): string {
  const ordered: QwenPawMeta = {
    id: meta.id,
    name: meta.name,
    description: meta.description,
    created_at: meta.created_at,
    version: meta.version,
    scope: {
      include_agents: meta.scope.include_agents,
      include_global_config: meta.scope.include_global_config,
      include_secrets: meta.scope.include_secrets,
      include_skill_pool: meta.scope.include_skill_pool,
    },
    agent_count: meta.agent_count,
    qwenpaw_version: meta.qwenpaw_version,
    system_info: meta.system_info,
    signature: meta.signature,
    accepted_via_trust: meta.accepted_via_trust,
  };
  return JSON.stringify(ordered, null, 2);
}
