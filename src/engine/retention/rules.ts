/**
 * Which bundles `snapshot prune` keeps. Pure: the clock and the time zone are arguments.
 *
 * The keep-* rules are restic's `forget` rules: complete bundles are sorted newest first;
 * keep-last n keeps the n newest; keep-hourly/daily/weekly/monthly/yearly n walk that list and keep
 * the newest bundle of each period until n periods that have a bundle are covered. Each rule runs
 * over every complete bundle, so a bundle kept by one rule still fills a period of another, and a
 * bundle kept by any rule survives with every rule that kept it in its reasons. n = 0 turns a rule
 * off; Infinity keeps one bundle of every period.
 *
 * Decisions beyond restic:
 * - Periods are wall-clock values in `timeZone` (default: the system zone), as restic buckets in
 *   local time. So the hour repeated when clocks fall back is one hourly period, the hour skipped
 *   in spring has none, and weeks are ISO weeks (2027-01-01 is in 2026-W53).
 * - restic ≥ 0.17 also keeps the oldest snapshot while a rule has periods left; we do not: a rule
 *   keeps only the newest bundle of each period, so a run of duplicates keeps one.
 * - olderThanMs protects, like restic's --keep-within but measured from `now`, not from the newest
 *   bundle: a complete bundle at or after now - olderThanMs is kept ("newer than 30d"). Alone, it
 *   removes every older complete bundle; with keep rules, an older bundle survives only if a rule
 *   keeps it. Newer bundles still fill rule periods (restic counts within-kept snapshots too).
 * - keepName globs (picomatch) match labels only and protect without counting; an unlabeled bundle
 *   never matches. keepName alone is not a policy, because restic would then delete every
 *   unmatched snapshot, which is rarely what "keep these names" means.
 * - An incomplete bundle (a crashed .partial) is always removed, whatever its age or label: it
 *   cannot be restored, so protecting it protects nothing. It never fills a period. The caller
 *   must hold the sandbox lock, so a .partial is never one being written.
 * - No keep-* above 0 and no olderThanMs is an empty policy: planRetention refuses it rather than
 *   guessing (restic keeps everything; a prune that does nothing is more likely a typo).
 *
 * Decisions come back newest first; ties in time are ordered by id, descending.
 */
import picomatch from 'picomatch';

import { UsageError } from '../../errors.js';
import type { RetentionPolicy } from '../bundle/retention-policy.js';

export interface RetentionCandidate {
  id: string;
  time: Date;
  label?: string;
  complete: boolean;
}

export type { RetentionPolicy };

export interface RetentionDecision {
  id: string;
  keep: boolean;
  reasons: string[];
}

export interface RetentionOptions {
  now: Date;
  /** IANA zone the periods are counted in; defaults to the system's. */
  timeZone?: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const DURATION_UNITS: Record<string, number> = { s: SECOND, m: MINUTE, h: HOUR, d: DAY, w: WEEK };
const DURATION_HINT = 'use a whole number and one unit: s, m (minutes), h, d or w, e.g. 90s, 30m, 12h, 30d, 2w';

/** "90s", "30m", "12h", "30d", "2w" → milliseconds. Months and years are refused: their length varies. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`invalid duration "${text}"`, { hint: DURATION_HINT });
  }
  const [, digits = '', unit = ''] = match;
  const ms = Number(digits) * (DURATION_UNITS[unit] ?? Number.NaN);
  if (!Number.isSafeInteger(ms)) {
    throw new UsageError(`duration "${text}" is too long`, { hint: DURATION_HINT });
  }
  if (ms === 0) {
    throw new UsageError(`duration "${text}" is zero`, {
      hint: 'a zero duration would make every bundle removable; ' + DURATION_HINT,
    });
  }
  return ms;
}

/** The largest whole unit, for reasons: 30 days is "30d", not "4w2d". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const COUNT_FIELDS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
type CountField = (typeof COUNT_FIELDS)[number];

const FLAG_NAMES: Record<CountField, string> = {
  keepLast: '--keep-last',
  keepHourly: '--keep-hourly',
  keepDaily: '--keep-daily',
  keepWeekly: '--keep-weekly',
  keepMonthly: '--keep-monthly',
  keepYearly: '--keep-yearly',
};

export function policyIsEmpty(policy: RetentionPolicy): boolean {
  return policy.olderThanMs === undefined && COUNT_FIELDS.every((field) => (policy[field] ?? 0) <= 0);
}

export function planRetention(
  candidates: RetentionCandidate[],
  policy: RetentionPolicy,
  opts: RetentionOptions,
): RetentionDecision[] {
  validatePolicy(policy);
  const nowMs = opts.now.getTime();
  if (Number.isNaN(nowMs)) throw new TypeError('planRetention: now is an invalid Date');
  for (const candidate of candidates) {
    if (Number.isNaN(candidate.time.getTime())) {
      throw new TypeError(`planRetention: bundle ${candidate.id} has an invalid time`);
    }
  }

  const sorted = [...candidates].sort(
    (a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
  const reasons = new Map<RetentionCandidate, string[]>(sorted.map((c) => [c, []]));
  const complete = sorted.filter((c) => c.complete);

  const clock = wallClock(opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
  for (const rule of rules(policy, clock)) {
    let remaining = rule.count;
    let lastPeriod: string | undefined;
    for (const [index, candidate] of complete.entries()) {
      if (remaining <= 0) break;
      const period = rule.period(candidate, index);
      if (period === lastPeriod) continue;
      lastPeriod = period;
      remaining -= 1;
      reasons.get(candidate)?.push(rule.reason(period));
    }
  }

  const cutoff = policy.olderThanMs === undefined ? undefined : nowMs - policy.olderThanMs;
  const age = policy.olderThanMs === undefined ? '' : formatDuration(policy.olderThanMs);
  const hasCountRule = COUNT_FIELDS.some((field) => (policy[field] ?? 0) > 0);
  const nameMatchers = (policy.keepName ?? []).map((glob) => ({ glob, matches: compileGlob(glob) }));

  return sorted.map((candidate): RetentionDecision => {
    if (!candidate.complete) {
      return { id: candidate.id, keep: false, reasons: ['incomplete (.partial)'] };
    }
    const kept = reasons.get(candidate) ?? [];
    if (cutoff !== undefined && candidate.time.getTime() >= cutoff) kept.push(`newer than ${age}`);
    if (candidate.label !== undefined) {
      for (const { glob, matches } of nameMatchers) {
        if (matches(candidate.label)) kept.push(`label matches ${glob}`);
      }
    }
    if (kept.length > 0) return { id: candidate.id, keep: true, reasons: kept };

    const removed: string[] = [];
    if (cutoff !== undefined) removed.push(`older than ${age}`);
    if (hasCountRule) removed.push('kept by no rule');
    return { id: candidate.id, keep: false, reasons: removed };
  });
}

function validatePolicy(policy: RetentionPolicy): void {
  for (const field of COUNT_FIELDS) {
    const count = policy[field];
    if (count === undefined || count === Number.POSITIVE_INFINITY) continue;
    if (!Number.isInteger(count) || count < 0) {
      throw new UsageError(`${FLAG_NAMES[field]} must be a whole number, 0 or more (got ${count})`);
    }
  }
  const olderThan = policy.olderThanMs;
  if (olderThan !== undefined && !(Number.isFinite(olderThan) && olderThan > 0)) {
    throw new UsageError(`--older-than must be a positive duration (got ${olderThan} ms)`, { hint: DURATION_HINT });
  }
  if (policyIsEmpty(policy)) {
    throw new UsageError('no policy given', {
      hint: 'pass at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly or --older-than; --keep-name only protects',
    });
  }
}

function compileGlob(glob: string): (label: string) => boolean {
  if (glob === '') throw new UsageError('--keep-name needs a non-empty glob');
  // Labels are names, not paths: let * match a leading dot too.
  return picomatch(glob, { dot: true });
}

interface Rule {
  count: number;
  period: (candidate: RetentionCandidate, index: number) => string;
  reason: (period: string) => string;
}

function rules(policy: RetentionPolicy, clock: WallClock): Rule[] {
  const byPeriod = (count: number | undefined, name: string, period: (t: WallTime) => string): Rule => ({
    count: count ?? 0,
    period: (candidate) => period(clock(candidate.time)),
    reason: (p) => `${name} ${p}`,
  });
  const lastCount = policy.keepLast ?? 0;
  return [
    { count: lastCount, period: (_candidate, index) => String(index), reason: () => `last ${lastCount}` },
    byPeriod(policy.keepHourly, 'hourly', (t) => `${ymd(t)} ${pad(t.hour)}:00`),
    byPeriod(policy.keepDaily, 'daily', ymd),
    byPeriod(policy.keepWeekly, 'weekly', isoWeek),
    byPeriod(policy.keepMonthly, 'monthly', (t) => `${pad(t.year, 4)}-${pad(t.month)}`),
    byPeriod(policy.keepYearly, 'yearly', (t) => pad(t.year, 4)),
  ];
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
}
type WallClock = (time: Date) => WallTime;

function wallClock(timeZone: string): WallClock {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      hourCycle: 'h23',
    });
  } catch (error) {
    throw new UsageError(`unknown time zone "${timeZone}"`, {
      hint: 'use an IANA zone name such as UTC or Europe/Berlin',
      cause: error,
    });
  }
  return (time) => {
    const parts: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {};
    for (const part of format.formatToParts(time)) parts[part.type] = Number(part.value);
    const { year, month, day, hour } = parts;
    if (year === undefined || month === undefined || day === undefined || hour === undefined) {
      throw new Error(`Intl gave no full date for ${time.toISOString()} in ${timeZone}`);
    }
    return { year, month, day, hour };
  };
}

function ymd(t: WallTime): string {
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
}

/** ISO 8601 week: weeks start on Monday and belong to the year that holds their Thursday. */
function isoWeek(t: WallTime): string {
  const date = Date.UTC(t.year, t.month - 1, t.day);
  const mondayBased = (new Date(date).getUTCDay() + 6) % 7;
  const thursday = date + (3 - mondayBased) * DAY;
  const weekYear = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / WEEK);
  return `${pad(weekYear, 4)}-W${pad(week)}`;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}
