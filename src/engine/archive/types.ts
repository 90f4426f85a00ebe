import type { EncryptOptions } from '../../formats/envelope.js';
import type { ArchiveLimits } from '../../formats/archive-guard.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import type { BundleHeader, BundleManifest } from '../../manifest/bundle-manifest.js';
import type { InventorySummary } from '../../store/inventory-writer.js';
import type { BundleRecord } from '../../store/bundles.js';
import type { SandboxEntry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';

/** The archive formats clawback writes and reads. */
export type ArchiveFormat = 'tar' | 'tar.gz' | 'qwenpaw-zip';
/** What `snapshot import` reads: an archive, or a directory NemoClaw left (one of its bundles, or an old backups/<timestamp>/). */
export type ImportFormat = ArchiveFormat | 'nemoclaw-v1' | 'nemoclaw-backup-dir';
export type ExportFormat = ArchiveFormat;

export interface ExportRequest {
  sandbox: string;
  selector: string;
  format: ExportFormat;
  /** Absolute path of the archive. Optional for qwenpaw-zip: `<QwenPaw backup dir>/<id>.zip`. */
  output?: string;
  /** Replace an existing output file. */
  force?: boolean;
  /** Keep secrets modules in an unencrypted export. */
  includeSecrets?: boolean;
  /** Encrypt (tar and tar.gz only); an encrypted export keeps secrets. */
  passphrase?: string;
  /** Test hook: cheaper key derivation. */
  encryptOptions?: EncryptOptions;
  /** QwenPaw's backup dir ($QWENPAW_BACKUP_DIR); default `<working dir>.backups`. */
  qwenpawBackupDir?: string;
  /** Written into meta.json's `system_info`. */
  systemInfo?: Record<string, string>;
}


export interface ImportRequest {
  sandbox: string;
  /** Absolute path of the archive, or of a directory NemoClaw left. */
  file: string;
  /** Replace a bundle imported earlier from the same archive id. */
  overwrite?: boolean;
  label?: string;
  /** Asked only when the archive is encrypted. */
  passphrase?: () => Promise<string>;
  /** Tighter hostile-archive limits (tests). */
  limits?: Partial<ArchiveLimits>;
}
/** Where an import stands once it knows what it imports: the bundle it will publish, and what that replaces. */
export interface ImportPlan {
  timestamp: string;
  partialDir: string;
  label: string | null;
  replaces: BundleRecord[];
}

/** What the format-specific stagers get: the target, and `plan`, called once the archive's identity is known. */
export interface ImportContext {
  request: ImportRequest;
  deps: EngineDeps;
  entry: SandboxEntry;
  agentManifest: AgentManifest;
  scratch: string;
  /** Refuses an id imported before (unless overwrite) and picks the timestamp and label. */
  plan(originKey: OriginKey, id: string, suggestedLabel: string | null, time: Date): ImportPlan;
}

/** What a stager publishes: a whole manifest (its inventory written at publish), or a header whose inventory it already wrote into the partial bundle. */
export type StagedContent = { manifest: BundleManifest } | { header: BundleHeader; inventory: InventorySummary };

export type StagedImport = StagedContent & {
  plan: ImportPlan;
  format: ImportFormat;
  databases: string[];
  skipped: number;
  warnings: string[];
};

export type OriginKey = 'qwenpawId' | 'clawbackId';
