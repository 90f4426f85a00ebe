import { NotFoundError, UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import type { BundleRecord } from './bundles.js';
import { isShortIdPrefix } from './short-id.js';

export const PRE_RESTORE_PREFIX = 'pre-restore-';

/**
 * What `latest` must hold. Restore passes one (the newest snapshot that covers what it restores);
 * show, verify, export, diff and the other readers pass none and get the newest complete snapshot.
 */
export interface LatestNeed {
  /** Whether a snapshot holds what the caller needs (e.g. is full, or holds the modules asked for). */
  covers(record: BundleRecord): boolean;
  /** What the need is, for the message when no snapshot covers it: "a full snapshot", "module config". */
  describe: string;
  /** When no snapshot covers the need, take the newest complete one instead of failing (a bare restore, where only partial ones exist). */
  fallBackToNewest?: boolean;
}

const isPreRestore = (r: BundleRecord): boolean => r.header?.name?.startsWith(PRE_RESTORE_PREFIX) === true;

function candidateLine(r: BundleRecord): string {
  return `${r.shortId} v${r.version} ${r.timestamp}${r.header?.name ? ` (${r.header.name})` : ''}`;
}

/**
 * `latest`: the newest complete snapshot that is not a restore's own pre-restore snapshot (restoring
 * latest twice would otherwise undo the first restore); a pre-restore one only when there is nothing
 * else. With a need, only snapshots that cover it count, so a config-only snapshot never becomes the
 * target of a bare restore while a full one exists (with none, a bare restore takes the newest).
 */
function resolveLatest(complete: BundleRecord[], sandbox: string, need: LatestNeed | undefined): BundleRecord {
  const usable = need ? complete.filter((r) => need.covers(r)) : complete;
  const last = usable.filter((r) => !isPreRestore(r)).at(-1) ?? usable.at(-1);
  if (last) return last;
  if (need && complete.length > 0) {
    const newest = complete.filter((r) => !isPreRestore(r)).at(-1) ?? complete.at(-1)!;
    if (need.fallBackToNewest === true) return newest;
    throw new NotFoundError('bundle-not-found', `${sandbox} has no snapshot that holds ${need.describe}`, {
      hint: `\`latest\` skips partial snapshots; name one to restore it anyway, e.g. ${newest.shortId} (the newest, ${newest.timestamp})`,
    });
  }
  throw new NotFoundError('bundle-not-found', `${sandbox} has no complete snapshot`, {
    hint: `create one with \`clawback ${sandbox} snapshot create\``,
  });
}

/** A unique match, or an ambiguity (exit 2) that lists the candidates; undefined when nothing matches. */
function unique(matches: BundleRecord[], selector: string, sandbox: string, hint: string): BundleRecord | undefined {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) return undefined;
  throw new UsageError(`${JSON.stringify(selector)} matches ${matches.length} snapshots of ${sandbox}`, {
    hint,
    details: matches.map(candidateLine),
  });
}

/**
 * Resolve a selector against a sandbox's bundles. In this order: `latest`; `vN` (positional, as
 * NemoClaw numbers them); an exact label; an exact timestamp (or directory name); a timestamp prefix;
 * then a prefix (4–8 hex) of the short id. A selector that begins some snapshot's timestamp is read
 * as a timestamp prefix (so `2026` keeps meaning a year), and only otherwise as a short-id prefix.
 * Partial and corrupt bundles are only reachable by their exact directory name (for delete).
 */
export function resolveSelector(records: BundleRecord[], selector: string, sandbox: string, need?: LatestNeed): BundleRecord {
  const complete = records.filter((r) => r.state === 'complete');
  const notFound = (): never => {
    throw new NotFoundError('bundle-not-found', `no snapshot of ${sandbox} matches ${JSON.stringify(selector)}`, {
      hint: `${didYouMean(selector, complete.flatMap((r) => (r.header?.name ? [r.header.name] : [])))}see \`clawback ${sandbox} snapshot list\``,
    });
  };
  if (selector === 'latest') return resolveLatest(complete, sandbox, need);
  const version = /^v(\d+)$/.exec(selector);
  if (version) return complete.find((r) => r.version === Number(version[1])) ?? notFound();
  const byLabel = complete.filter((r) => r.header?.name === selector);
  if (byLabel.length === 1) return byLabel[0]!;
  const exact = records.find((r) => r.timestamp === selector && r.state === 'complete') ?? records.find((r) => r.id === selector);
  if (exact) return exact;
  const byTimestamp = unique(complete.filter((r) => r.timestamp.startsWith(selector)), selector, sandbox, 'give more of the timestamp, or use the short id');
  if (byTimestamp) return byTimestamp;
  if (isShortIdPrefix(selector)) {
    const prefix = selector.toLowerCase();
    const byShortId = unique(complete.filter((r) => r.shortId.startsWith(prefix)), selector, sandbox, 'give more of the short id');
    if (byShortId) return byShortId;
  }
  return notFound();
}
