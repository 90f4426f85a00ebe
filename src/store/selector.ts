import { NotFoundError, UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import type { BundleRecord } from './bundles.js';

export const PRE_RESTORE_PREFIX = 'pre-restore-';

/**
 * Resolve a selector against a sandbox's bundles: `vN`, `latest`, an exact
 * label, an exact timestamp, or a unique timestamp prefix. Partial and
 * corrupt bundles are only reachable by their exact directory name (for delete).
 */
export function resolveSelector(records: BundleRecord[], selector: string, sandbox: string): BundleRecord {
  const complete = records.filter((r) => r.state === 'complete');
  const notFound = (): never => {
    throw new NotFoundError('bundle-not-found', `no snapshot of ${sandbox} matches ${JSON.stringify(selector)}`, {
      hint: `${didYouMean(selector, complete.flatMap((r) => (r.header?.name ? [r.header.name] : [])))}see \`clawback ${sandbox} snapshot list\``,
    });
  };
  if (selector === 'latest') {
    // A restore's own safety snapshot is not what "latest" means to a user: restoring latest twice would undo the first restore.
    const last = complete.filter((r) => !r.header?.name?.startsWith(PRE_RESTORE_PREFIX)).at(-1) ?? complete.at(-1);
    if (!last) {
      throw new NotFoundError('bundle-not-found', `${sandbox} has no complete snapshot`, {
        hint: `create one with \`clawback ${sandbox} snapshot create\``,
      });
    }
    return last;
  }
  const version = /^v(\d+)$/.exec(selector);
  if (version) return complete.find((r) => r.version === Number(version[1])) ?? notFound();
  const byLabel = complete.filter((r) => r.header?.name === selector);
  if (byLabel.length === 1) return byLabel[0]!;
  const exact = records.find((r) => r.timestamp === selector && r.state === 'complete') ?? records.find((r) => r.id === selector);
  if (exact) return exact;
  const prefixed = complete.filter((r) => r.timestamp.startsWith(selector));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    throw new UsageError(`${JSON.stringify(selector)} matches ${prefixed.length} snapshots of ${sandbox}`, {
      hint: 'give more of the timestamp, or use vN',
      details: prefixed.map((r) => `v${r.version} ${r.timestamp}${r.header?.name ? ` (${r.header.name})` : ''}`),
    });
  }
  return notFound();
}
