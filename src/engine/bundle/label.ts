import { RefusedError, UsageError } from '../../errors.js';
import type { BundleRecord } from '../../store/bundles.js';

const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** NemoClaw's label rules: 1–63 of [A-Za-z0-9._-], alphanumeric first, not vN (it would shadow a version), unique per sandbox. */
export function validateLabel(label: string): void {
  if (!LABEL_RE.test(label)) {
    throw new UsageError(`invalid snapshot name ${JSON.stringify(label)}`, {
      hint: 'use 1–63 characters of [A-Za-z0-9._-], starting with a letter or digit',
    });
  }
  if (/^v\d+$/.test(label) || label === 'latest') {
    throw new UsageError(`snapshot name ${JSON.stringify(label)} would shadow a selector`, { hint: 'pick a name that is not vN or latest' });
  }
}

export function assertLabelUnused(label: string, records: BundleRecord[], sandbox: string): void {
  const clash = records.find((r) => r.header?.name === label);
  if (clash) {
    throw new RefusedError('duplicate-name', `${sandbox} already has a snapshot named ${JSON.stringify(label)} (${clash.timestamp})`, {
      hint: 'pick another --name, or delete the old snapshot first',
    });
  }
}
