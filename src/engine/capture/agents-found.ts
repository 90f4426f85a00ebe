import { UsageError } from '../../errors.js';
import type { AgentManifest } from '../../manifest/agent-manifest.js';
import type { BundleMount } from '../../manifest/bundle-manifest.js';
import { scanMounts, type ScanResult } from '../sandbox/scan.js';
import { Selection, type ScopeOptions } from '../sandbox/selection.js';

/**
 * `--agent NAME` that matches nothing in the state root is a mistake, not an empty snapshot: a usage
 * error listing the agents there (found by a scan without the agent filter, on this error path only).
 */
export function assertAgentsFound(scope: ScopeOptions, scan: ScanResult, manifest: AgentManifest, mounts: BundleMount[], neverCapture: readonly string[]): void {
  if (!scope.agents) return;
  const found = scan.entries.agentNames();
  const missing = scope.agents.filter((a) => !found.has(a));
  if (missing.length === 0) return;
  const { agents: _ignored, ...unfiltered } = scope;
  const all = scanMounts(mounts, new Selection(manifest, mounts, unfiltered), manifest.managedLinks, neverCapture);
  const there = [...all.entries.agentNames()].sort();
  throw new UsageError(`no agent ${missing.map((a) => JSON.stringify(a)).join(', ')} in this sandbox's state`, {
    hint: there.length > 0 ? `its agents: ${there.join(', ')}` : 'it holds no per-agent state; leave out --agent',
  });
}
