import path from 'node:path';
import { IntegrityError, RefusedError } from '../../errors.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import { assertContentChecksum, MANIFEST_FILE, type BundleManifest } from '../../manifest/bundle-manifest.js';
import { readBundleManifest, type BundleRecord } from '../../store/bundles.js';
import type { SandboxEntry } from '../../store/registry.js';
import { findRestoreSource } from '../bundle/find.js';
import type { RestoreNeed, SnapshotScope } from '../bundle/scope.js';
import type { EngineDeps } from '../deps.js';
import { loadAgentManifest } from '../sandbox/layout.js';

export interface RestoreSource {
  record: BundleRecord;
  /** What the snapshot holds (full, or which modules/agents/secrets); undefined for an unreadable header. */
  scope: SnapshotScope | undefined;
  bundle: BundleManifest;
  agentManifest: AgentManifest;
}

/** What the restore asks for, so that `latest` may be a partial snapshot that holds it. */
export function needOf(request: { only?: string[]; agents?: string[]; paths?: string[] }): RestoreNeed {
  return { ...(request.only ? { only: request.only } : {}), ...(request.agents ? { agents: request.agents } : {}), ...(request.paths ? { paths: request.paths } : {}) };
}

/** The snapshot to restore, checked: complete, its manifest intact, of the agent kind of the sandbox it goes into. */
export function loadSource(sandbox: string, selector: string, need: RestoreNeed, into: { name: string; entry: SandboxEntry }, deps: EngineDeps): RestoreSource {
  const { record, scope } = findRestoreSource(sandbox, selector, need, deps);
  if (record.state !== 'complete') {
    throw new IntegrityError('bundle-incomplete', `${record.dir} is ${record.state}; only complete snapshots can be restored`, {
      hint: record.problem?.message ?? 'choose another snapshot (`snapshot list`)',
    });
  }
  // listBundles already parsed it strictly; parsing 40,000 entries twice costs a noticeable part of a restore.
  const bundle = record.manifest ?? readBundleManifest(record.dir);
  assertContentChecksum(bundle, path.join(record.dir, MANIFEST_FILE));
  const agentManifest = loadAgentManifest(into.entry.agent);
  if (bundle.agentType !== agentManifest.agent) {
    throw new RefusedError('agent-mismatch', `snapshot ${record.timestamp} is of a ${bundle.agentType} home; ${into.name} is ${agentManifest.agent}`, {
      hint: 'restore it into a sandbox of the same agent kind (--to a new name registers one)',
    });
  }
  return { record, scope, bundle, agentManifest };
}
