import { IntegrityError, RefusedError } from '../../errors.js';
import type { BundleRecord } from '../../store/bundles.js';
import type { EngineDeps } from '../deps.js';
import { verifySnapshots, type VerifySummary } from '../verify/verify.js';
import { unreadFiles } from './unread.js';

/**
 * Refuses a bundle that does not verify. With a parent bundle here, the files restic will take
 * unread from the parent's snapshot are not hashed (unread.ts), and this thread hashes the rest:
 * they are few after an unchanged re-snapshot, and starting workers would cost more.
 * A database copy the header records as quick_checked is hashed, not quick_checked again, as in
 * `snapshot verify` (verify.ts, quickCheckedDatabases): one that hashes to the recorded sha256 holds
 * the bytes that passed, and one that does not is refused like any file. quick_check of a large
 * database was the check's last ~0.4 s, with restic waiting at the gate.
 */
export async function assertIntact(sandbox: string, record: BundleRecord, parent: BundleRecord | undefined, deps: EngineDeps): Promise<void> {
  if (record.legacy !== undefined) {
    throw new RefusedError('push-legacy-bundle', `${sandbox} snapshot ${record.id} was written by NemoClaw and records no hashes, so a pulled copy could not be verified; it was not pushed`, {
      hint: `take a clawback snapshot (\`clawback ${sandbox} snapshot create\`) and push that`,
    });
  }
  const unread = parent === undefined ? undefined : unreadFiles(record, parent);
  let summary: VerifySummary;
  let settled = true;
  try {
    summary = await verifySnapshots({ sandbox, selector: record.id, ...(unread ? { unhashed: unread, threads: 0 } : {}) }, deps);
    settled = !summary.ok || (unread?.settle() ?? true);
  } finally {
    unread?.close();
  }
  // A parent inventory found damaged at its end cannot vouch for anything: hash every file.
  if (summary.ok && !settled) summary = await verifySnapshots({ sandbox, selector: record.id }, deps);
  const problems = summary.bundles.flatMap((b) => b.problems.map((p) => `${p.path || '(bundle)'}: ${p.problem}`));
  if (summary.ok) return;
  throw new IntegrityError('push-damaged', `${sandbox} snapshot ${record.id} does not verify, so it was not pushed (${problems.length} problem(s))`, {
    details: problems.slice(0, 20),
    hint: `see \`clawback ${sandbox} snapshot verify ${record.id}\`; push a snapshot that verifies`,
  });
}

