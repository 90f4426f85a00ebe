import { NotFoundError, UsageError } from '../../errors.js';
import { parseBundleTimestamp } from '../../store/home.js';
import { isRecord } from '../../records.js';
import { isShortIdPrefix, shortIdOf } from '../../store/short-id.js';
import type { Restic } from './restic.js';

/** One bundle as a restic snapshot in the repository. */
export interface RemoteBundle {
  /** The bundle's timestamp (its `bundle=` tag): the id it has on every machine. */
  timestamp: string;
  /** clawback's short id, derived from the sandbox and the timestamp as for a local bundle. */
  shortId: string;
  /** The label (`label=` tag), or null. */
  name: string | null;
  /** restic's full snapshot id, and its 8-character short form. */
  snapshotId: string;
  resticShortId: string;
  /** The host the bundle was pushed from, and when restic took it (the bundle's own time). */
  hostname: string;
  time: string;
}

export const CLAWBACK_TAG = 'clawback';

/** restic splits `--tag` values on commas: a label's commas (and the escape itself) are %-escaped. */
export function labelTag(label: string): string {
  return `label=${label.replace(/%/g, '%25').replace(/,/g, '%2C')}`;
}

function labelOf(tag: string): string {
  return tag.slice('label='.length).replace(/%2C/g, ',').replace(/%25/g, '%');
}

/** `--tag clawback,sandbox=<name>`: both tags, one filter (restic ANDs the tags of one list). */
export function sandboxFilter(sandbox: string): string {
  return `${CLAWBACK_TAG},sandbox=${sandbox}`;
}

/**
 * The sandbox's bundles in the repository, oldest first. Two snapshots of one bundle (pushed from
 * two machines) count once: the newest restic snapshot stands for it. `noLock` lists without
 * restic's lock (`--no-lock`: no lock file written, and none waited for), for a caller whose next
 * call takes the lock anyway (push's backup).
 */
export async function listRemoteBundles(restic: Restic, sandbox: string, options: { noLock?: boolean } = {}): Promise<RemoteBundle[]> {
  const args = [...(options.noLock === true ? ['--no-lock'] : []), 'snapshots', '--json', '--tag', sandboxFilter(sandbox)];
  const result = await restic.run(args, { what: `snapshots of ${sandbox}`, readOnly: true });
  const byTimestamp = new Map<string, RemoteBundle>();
  for (const document of result.documents) {
    if (!Array.isArray(document)) continue;
    for (const raw of document) {
      const bundle = remoteBundleOf(raw, sandbox);
      if (bundle) byTimestamp.set(bundle.timestamp, bundle);
    }
  }
  return [...byTimestamp.values()].sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

function remoteBundleOf(raw: unknown, sandbox: string): RemoteBundle | undefined {
  if (!isRecord(raw) || typeof raw.id !== 'string' || !Array.isArray(raw.tags)) return undefined;
  const tags = raw.tags.filter((t): t is string => typeof t === 'string');
  if (!tags.includes(CLAWBACK_TAG) || !tags.includes(`sandbox=${sandbox}`)) return undefined;
  const timestamp = tags.find((t) => t.startsWith('bundle='))?.slice('bundle='.length);
  if (timestamp === undefined || parseBundleTimestamp(timestamp) === undefined) return undefined;
  const label = tags.find((t) => t.startsWith('label='));
  return {
    timestamp,
    shortId: shortIdOf(sandbox, timestamp),
    name: label !== undefined ? labelOf(label) : null,
    snapshotId: raw.id,
    resticShortId: typeof raw.short_id === 'string' ? raw.short_id : raw.id.slice(0, 8),
    hostname: typeof raw.hostname === 'string' ? raw.hostname : '',
    time: typeof raw.time === 'string' ? raw.time : '',
  };
}

/**
 * A selector against the repository's bundles, as for local ones: `latest` (the newest that is no
 * restore's own `pre-restore-*`), `vN` (position in the repository), an exact label or timestamp, a
 * unique timestamp prefix, or a unique short-id prefix (≥ 4).
 */
export function resolveRemote(bundles: RemoteBundle[], selector: string, sandbox: string, repo: string): RemoteBundle {
  const notFound = (why: string): NotFoundError =>
    new NotFoundError('remote-snapshot-not-found', `repository ${repo} holds ${why} of ${sandbox}`, {
      hint: `see \`clawback ${sandbox} snapshot list --repo ${repo}\``,
    });
  if (bundles.length === 0) throw notFound('no snapshot');
  if (selector === 'latest') {
    const newest = bundles.filter((b) => !(b.name ?? '').startsWith('pre-restore-')).at(-1) ?? bundles.at(-1);
    return newest!;
  }
  const version = /^v(\d+)$/.exec(selector);
  if (version) {
    const found = bundles[Number(version[1]) - 1];
    if (!found) throw notFound(`no ${selector} (it holds ${bundles.length})`);
    return found;
  }
  const exact = bundles.filter((b) => b.timestamp === selector || b.name === selector);
  if (exact.length === 1) return exact[0]!;
  const prefixed = exact.length > 1 ? exact : bundles.filter((b) => b.timestamp.startsWith(selector) || (isShortIdPrefix(selector) && b.shortId.startsWith(selector.toLowerCase())));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    throw new UsageError(`selector ${JSON.stringify(selector)} matches ${prefixed.length} snapshots in repository ${repo}`, {
      details: prefixed.map((b) => `${b.shortId} ${b.timestamp}${b.name ? ` "${b.name}"` : ''}`),
      hint: 'give more of the timestamp, or the short id',
    });
  }
  throw notFound(`no snapshot matching ${JSON.stringify(selector)}`);
}
