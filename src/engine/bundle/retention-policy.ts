/**
 * Which snapshots to keep, as `snapshot prune` takes it (restic forget's rules): applied by
 * clawback to local bundles (retention/) and handed to restic forget for a repository (offsite/).
 */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Only bundles older than now - olderThanMs may be removed. */
  olderThanMs?: number;
  /** picomatch globs on labels: a bundle whose label matches one is never removed. */
  keepName?: string[];
}
