import { createHash } from 'node:crypto';
import path from 'node:path';
import { contentSha256, type BundleEntry, type BundleManifest, type SkippedEntry } from '../../manifest/bundle-manifest.js';
import { layoutPlace, QWENPAW_SECTIONS, zipNameOf, type QwenPawSection } from '../qwenpaw/archive-layout.js';
import { BACKUP_ID, defaultBackupName, META_FILE, qwenPawBackupId, serializeQwenPawMeta, type QwenPawMeta } from '../qwenpaw/meta.js';
import type { ArchivePlan, Selected } from './export-plan.js';
import type { ExportRequest } from './types.js';

/** The snapshot's files placed in QwenPaw's backup layout, in section order, and what has no place there. */
interface ZipLayout {
  files: BundleEntry[];
  leftOut: SkippedEntry[];
  agents: Set<string>;
  symlinks: number;
}

function layoutOf(selected: Selected): ZipLayout {
  const leftOut = [...selected.dropped];
  const bySection = new Map<QwenPawSection, BundleEntry[]>(QWENPAW_SECTIONS.map((s) => [s, []]));
  const agents = new Set<string>();
  let symlinks = 0;
  for (const e of selected.entries) {
    if (e.type === 'dir') continue;
    const place = layoutPlace(e.path);
    if (e.type === 'symlink') {
      symlinks++;
      leftOut.push({ path: e.path, reason: 'symlink (QwenPaw backups hold regular files only)' });
    } else if (!place) {
      leftOut.push({ path: e.path, reason: 'outside the QwenPaw backup layout' });
    } else {
      bySection.get(place.section)!.push(e);
      if (place.agent) agents.add(place.agent);
    }
  }
  return { files: QWENPAW_SECTIONS.flatMap((s) => bySection.get(s)!), leftOut, agents, symlinks };
}

/** meta.json: the id of the backup the snapshot was imported from when nothing was left out, else a new one. */
function metaOf(bundle: BundleManifest, selected: Selected, layout: ZipLayout, time: Date, request: ExportRequest): QwenPawMeta {
  const holds = (module: string): boolean => bundle.scope.full || bundle.scope.modules.includes(module);
  const secretsKept = selected.dropped.length === 0;
  const reusable = bundle.origin?.qwenpawId !== undefined && BACKUP_ID.test(bundle.origin.qwenpawId) && layout.leftOut.length === 0;
  const short8 = createHash('sha256').update(`${bundle.sandboxName}@${bundle.timestamp}\n${contentSha256(layout.files)}`).digest('hex').slice(0, 8);
  return {
    id: reusable ? bundle.origin!.qwenpawId! : qwenPawBackupId(bundle.agentVersion ?? 'unknown', time, short8),
    name: bundle.origin?.qwenpawName ?? bundle.name ?? defaultBackupName(time),
    description: bundle.origin?.qwenpawDescription ?? `clawback snapshot ${bundle.timestamp} of ${bundle.sandboxName}`,
    created_at: time.toISOString(),
    version: '1',
    scope: {
      include_agents: holds('workspaces'),
      include_global_config: holds('config'),
      include_secrets: secretsKept && bundle.scope.includesSecrets && holds('secrets'),
      include_skill_pool: holds('skill_pool'),
    },
    agent_count: layout.agents.size,
    qwenpaw_version: bundle.agentVersion ?? 'unknown',
    system_info: request.systemInfo ?? {},
    signature: null,
    accepted_via_trust: null,
  };
}

/** QwenPaw's backup zip: meta.json, then the files in the layout QwenPaw restores from. */
export function planZip(bundle: BundleManifest, selected: Selected, hasSecrets: boolean, time: Date, request: ExportRequest, root: string): ArchivePlan {
  const layout = layoutOf(selected);
  const meta = metaOf(bundle, selected, layout, time, request);
  const metaBytes = Buffer.from(serializeQwenPawMeta(meta), 'utf8');
  const backupDir = request.qwenpawBackupDir ?? `${root.replace(/\/+$/, '')}.backups`;
  const { files, symlinks } = layout;
  return {
    kind: 'zip',
    fileCount: files.length,
    fileBytes: files.reduce((sum, e) => sum + (e.size ?? 0), 0),
    secrets: { has: hasSecrets, dropped: selected.dropped.length },
    leftOut: layout.leftOut,
    warnings: symlinks > 0 ? [`${symlinks} symlink(s) are not in the zip: QwenPaw backups hold regular files only`] : [],
    qwenpawId: meta.id,
    output: request.output === undefined ? path.join(backupDir, `${meta.id}.zip`) : undefined,
    *entries(reader) {
      yield { name: META_FILE, buffer: metaBytes, mtime: time, mode: 0o600 };
      for (const e of files) {
        yield { name: zipNameOf(e.path), ...reader.content(e), mtime: new Date(e.mtimeMs ?? time.getTime()), mode: (e.mode ?? 0o644) & 0o777 };
      }
    },
  };
}
