import { mergeSnapshotWins, type SnapshotWinsRules } from './deep.js';
import { matchesAny, parseKeyPath } from './key-paths.js';
import { entryId, isRecord, type ConfigRecord } from './values.js';

/**
 * What an upgrade or the machine decides in openclaw.json: where the gateway listens, how traffic
 * leaves, and where each provider is reached and with which key. Everything else is the user's, so
 * the snapshot wins, including `agents.list`: the restore puts back the snapshot's agent workspaces,
 * and the list has to name them.
 */
const LIVE_OWNS = [
  'gateway',
  'proxy',
  'diagnostics',
  'tools.toolSearch',
  'models.providers.*.baseUrl',
  'models.providers.*.api',
  'models.providers.*.apiKey',
].map(parseKeyPath);

const PROVIDER = [parseKeyPath('models.providers.*')];
const PROVIDER_MODELS = [parseKeyPath('models.providers.*.models')];

export const OPENCLAW_RULES: SnapshotWinsRules = {
  liveOwns: LIVE_OWNS,
  special: (path, live, snapshot) => {
    // A provider the live file lacks is no use without its own baseUrl and apiKey: take it whole.
    if (live === undefined && matchesAny(PROVIDER, path)) return { value: snapshot };
    if (Array.isArray(live) && matchesAny(PROVIDER_MODELS, path)) return { value: mergeModelsById(live, snapshot) };
    return undefined;
  },
};

/**
 * The live list decides which models exist and in what order (an upgrade may retire or add some);
 * the snapshot's tuning of a model is laid over the live entry with the same id.
 */
function mergeModelsById(live: unknown[], snapshot: unknown): unknown[] {
  const tuning = new Map<string, ConfigRecord>();
  if (Array.isArray(snapshot)) {
    for (const entry of snapshot) {
      const id = entryId(entry);
      if (id !== undefined && isRecord(entry) && !tuning.has(id)) tuning.set(id, entry);
    }
  }
  return live.map((entry) => {
    const id = entryId(entry);
    const overlay = id === undefined ? undefined : tuning.get(id);
    return overlay === undefined ? entry : mergeSnapshotWins(entry, overlay);
  });
}
