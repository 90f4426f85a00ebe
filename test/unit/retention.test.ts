import { describe, it, expect, afterEach } from 'vitest';

import { UsageError } from '../../src/errors.js';
import {
  formatDuration,
  parseDuration,
  planRetention,
  policyIsEmpty,
  type RetentionCandidate,
  type RetentionDecision,
  type RetentionPolicy,
} from '../../src/engine/retention/rules.js';

function bundle(id: string, iso: string, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { id, time: new Date(iso), complete: true, ...extra };
}

function keptIds(decisions: RetentionDecision[]): string[] {
  return decisions
    .filter((d) => d.keep)
    .map((d) => d.id)
    .sort();
}

function reasonsOf(decisions: RetentionDecision[], id: string): string[] | undefined {
  return decisions.find((d) => d.id === id)?.reasons;
}

const NOW = new Date('2026-04-22T12:00:00Z');
const UTC = { now: NOW, timeZone: 'UTC' };

// ISO weeks of 2026: W17 starts Monday 2026-04-20; 2025-12-31 (a Wednesday) is in 2026-W01.
const HISTORY: RetentionCandidate[] = [
  bundle('s01', '2026-04-22T10:30:00Z'),
  bundle('s02', '2026-04-22T10:05:00Z'),
  bundle('s03', '2026-04-22T08:00:00Z'),
  bundle('s04', '2026-04-21T23:00:00Z'),
  bundle('s05', '2026-04-21T09:00:00Z'),
  bundle('s06', '2026-04-20T09:00:00Z'),
  bundle('s07', '2026-04-19T09:00:00Z'),
  bundle('s08', '2026-04-12T09:00:00Z'),
  bundle('s09', '2026-03-15T09:00:00Z'),
  bundle('s10', '2026-02-01T09:00:00Z'),
  bundle('s11', '2025-12-31T09:00:00Z'),
  bundle('s12', '2025-06-01T09:00:00Z'),
  bundle('s13', '2024-03-01T09:00:00Z'),
];
const ALL_IDS = HISTORY.map((c) => c.id).sort();

describe('planRetention keep rules', () => {
  it.each<[string, RetentionPolicy, string[]]>([
    ['keep-last 3', { keepLast: 3 }, ['s01', 's02', 's03']],
    ['keep-last larger than the list', { keepLast: 100 }, ALL_IDS],
    ['keep-hourly 3', { keepHourly: 3 }, ['s01', 's03', 's04']],
    ['keep-daily 3', { keepDaily: 3 }, ['s01', 's04', 's06']],
    ['keep-weekly 3', { keepWeekly: 3 }, ['s01', 's07', 's08']],
    ['keep-weekly 6 (reaches 2026-W01 in December 2025)', { keepWeekly: 6 }, ['s01', 's07', 's08', 's09', 's10', 's11']],
    ['keep-monthly 3', { keepMonthly: 3 }, ['s01', 's09', 's10']],
    ['keep-yearly 3', { keepYearly: 3 }, ['s01', 's11', 's13']],
    ['keep-yearly larger than the number of years', { keepYearly: 10 }, ['s01', 's11', 's13']],
    [
      'keep-daily unlimited',
      { keepDaily: Number.POSITIVE_INFINITY },
      ['s01', 's04', 's06', 's07', 's08', 's09', 's10', 's11', 's12', 's13'],
    ],
    ['keep-last 1 + keep-daily 3 + keep-monthly 2', { keepLast: 1, keepDaily: 3, keepMonthly: 2 }, ['s01', 's04', 's06', 's09']],
    ['keep-last 0 + keep-daily 1', { keepLast: 0, keepDaily: 1 }, ['s01']],
    ['keep-hourly 2 + keep-yearly 2', { keepHourly: 2, keepYearly: 2 }, ['s01', 's03', 's11']],
  ])('%s', (_name, policy, expected) => {
    expect(keptIds(planRetention(HISTORY, policy, UTC))).toEqual(expected);
  });

  it('lists every rule that kept a bundle, and why the others go', () => {
    const decisions = planRetention(HISTORY, { keepLast: 1, keepDaily: 3, keepWeekly: 6, keepMonthly: 2, keepYearly: 1 }, UTC);
    expect(reasonsOf(decisions, 's01')).toEqual([
      'last 1',
      'daily 2026-04-22',
      'weekly 2026-W17',
      'monthly 2026-04',
      'yearly 2026',
    ]);
    expect(reasonsOf(decisions, 's04')).toEqual(['daily 2026-04-21']);
    expect(reasonsOf(decisions, 's11')).toEqual(['weekly 2026-W01']);
    expect(reasonsOf(decisions, 's09')).toEqual(['weekly 2026-W11', 'monthly 2026-03']);
    expect(reasonsOf(decisions, 's02')).toEqual(['kept by no rule']);
    expect(decisions.find((d) => d.id === 's02')?.keep).toBe(false);
  });

  it('names hourly periods by local wall-clock hour', () => {
    const decisions = planRetention(HISTORY, { keepHourly: 2 }, UTC);
    expect(reasonsOf(decisions, 's01')).toEqual(['hourly 2026-04-22 10:00']);
    expect(reasonsOf(decisions, 's03')).toEqual(['hourly 2026-04-22 08:00']);
  });

  it('keeps the newest of several bundles in one period, whatever the input order', () => {
    const sameDay = [
      bundle('morning', '2026-04-21T06:00:00Z'),
      bundle('evening', '2026-04-21T21:00:00Z'),
      bundle('noon', '2026-04-21T12:00:00Z'),
      bundle('day-before', '2026-04-20T12:00:00Z'),
    ];
    expect(keptIds(planRetention(sameDay, { keepDaily: 1 }, UTC))).toEqual(['evening']);
    expect(keptIds(planRetention([...sameDay].reverse(), { keepDaily: 2 }, UTC))).toEqual(['day-before', 'evening']);
  });

  it('breaks ties in time by id so the plan does not depend on input order', () => {
    const tied = [bundle('a', '2026-04-21T06:00:00Z'), bundle('b', '2026-04-21T06:00:00Z')];
    expect(keptIds(planRetention(tied, { keepLast: 1 }, UTC))).toEqual(['b']);
    expect(keptIds(planRetention([...tied].reverse(), { keepLast: 1 }, UTC))).toEqual(['b']);
  });

  it('returns one decision per candidate, newest first', () => {
    const shuffled = [HISTORY[5], HISTORY[12], HISTORY[0], HISTORY[8]].filter((c): c is RetentionCandidate => c !== undefined);
    const decisions = planRetention(shuffled, { keepLast: 1 }, UTC);
    expect(decisions.map((d) => d.id)).toEqual(['s01', 's06', 's09', 's13']);
    expect(decisions.map((d) => d.keep)).toEqual([true, false, false, false]);
  });

  it('returns nothing for no candidates', () => {
    expect(planRetention([], { keepLast: 1 }, UTC)).toEqual([]);
  });
});

describe('planRetention older-than', () => {
  const twoDays = parseDuration('2d');

  it('alone, removes every complete bundle older than now minus the duration', () => {
    const decisions = planRetention(HISTORY, { olderThanMs: twoDays }, UTC);
    expect(keptIds(decisions)).toEqual(['s01', 's02', 's03', 's04', 's05']);
    expect(reasonsOf(decisions, 's05')).toEqual(['newer than 2d']);
    expect(reasonsOf(decisions, 's06')).toEqual(['older than 2d']);
  });

  it('keeps a bundle exactly at the cutoff', () => {
    const atCutoff = [bundle('edge', '2026-04-20T12:00:00Z'), bundle('before', '2026-04-20T11:59:59.999Z')];
    expect(keptIds(planRetention(atCutoff, { olderThanMs: twoDays }, UTC))).toEqual(['edge']);
  });

  it('with keep rules, keeps the newer ones and the older ones a rule keeps', () => {
    const decisions = planRetention(HISTORY, { olderThanMs: twoDays, keepMonthly: 3 }, UTC);
    expect(keptIds(decisions)).toEqual(['s01', 's02', 's03', 's04', 's05', 's09', 's10']);
    expect(reasonsOf(decisions, 's01')).toEqual(['monthly 2026-04', 'newer than 2d']);
    expect(reasonsOf(decisions, 's06')).toEqual(['older than 2d', 'kept by no rule']);
  });

  it('lets newer bundles fill rule periods, as restic counts keep-within snapshots', () => {
    expect(keptIds(planRetention(HISTORY, { olderThanMs: twoDays, keepDaily: 3 }, UTC))).toEqual([
      's01',
      's02',
      's03',
      's04',
      's05',
      's06',
    ]);
  });

  it('with keep-last 0 behaves as older-than alone', () => {
    expect(keptIds(planRetention(HISTORY, { olderThanMs: twoDays, keepLast: 0 }, UTC))).toEqual([
      's01',
      's02',
      's03',
      's04',
      's05',
    ]);
  });

  it('says "newer than 30d" for thirty days', () => {
    const decisions = planRetention([bundle('x', '2026-04-01T00:00:00Z')], { olderThanMs: parseDuration('30d') }, UTC);
    expect(decisions).toEqual([{ id: 'x', keep: true, reasons: ['newer than 30d'] }]);
  });
});

describe('planRetention keep-name', () => {
  const labelled = [
    bundle('new', '2026-04-22T10:00:00Z', { label: 'nightly' }),
    bundle('upgrade', '2026-03-01T10:00:00Z', { label: 'before-upgrade' }),
    bundle('migrate', '2026-02-01T10:00:00Z', { label: 'before-migrate' }),
    bundle('other', '2026-01-01T10:00:00Z', { label: 'after-upgrade' }),
    bundle('plain', '2025-12-01T10:00:00Z'),
  ];

  it('never removes a bundle whose label matches, and names the glob', () => {
    const decisions = planRetention(labelled, { olderThanMs: parseDuration('30d'), keepName: ['before-*'] }, UTC);
    expect(keptIds(decisions)).toEqual(['migrate', 'new', 'upgrade']);
    expect(reasonsOf(decisions, 'upgrade')).toEqual(['label matches before-*']);
  });

  it('lists every matching glob', () => {
    const decisions = planRetention(labelled, { keepLast: 1, keepName: ['before-*', '*-upgrade'] }, UTC);
    expect(reasonsOf(decisions, 'upgrade')).toEqual(['label matches before-*', 'label matches *-upgrade']);
    expect(keptIds(decisions)).toEqual(['migrate', 'new', 'other', 'upgrade']);
  });

  it('never matches an unlabeled bundle, even with *', () => {
    const decisions = planRetention(labelled, { keepLast: 1, keepName: ['*'] }, UTC);
    expect(keptIds(decisions)).toEqual(['migrate', 'new', 'other', 'upgrade']);
    expect(decisions.find((d) => d.id === 'plain')?.keep).toBe(false);
  });

  it('does not make label-kept bundles skip their periods', () => {
    expect(keptIds(planRetention(labelled, { keepMonthly: 2, keepName: ['nightly'] }, UTC))).toEqual(['new', 'upgrade']);
  });
});

describe('planRetention incomplete bundles', () => {
  it('removes them and does not count them for keep-last', () => {
    const withPartial = [bundle('p', '2026-04-22T11:00:00Z', { complete: false }), ...HISTORY];
    const decisions = planRetention(withPartial, { keepLast: 2 }, UTC);
    expect(keptIds(decisions)).toEqual(['s01', 's02']);
    expect(decisions[0]).toEqual({ id: 'p', keep: false, reasons: ['incomplete (.partial)'] });
  });

  it('does not let them fill a period', () => {
    const withPartial = [...HISTORY, bundle('p', '2026-04-20T12:00:00Z', { complete: false })];
    expect(keptIds(planRetention(withPartial, { keepDaily: 4 }, UTC))).toEqual(['s01', 's04', 's06', 's07']);
  });

  it('removes them even when newer than the cutoff or labelled with a kept name', () => {
    const partials = [
      bundle('fresh', '2026-04-22T11:00:00Z', { complete: false }),
      bundle('named', '2026-04-22T10:00:00Z', { complete: false, label: 'before-upgrade' }),
    ];
    const decisions = planRetention(partials, { olderThanMs: parseDuration('30d'), keepName: ['before-*'] }, UTC);
    expect(decisions.map((d) => d.keep)).toEqual([false, false]);
  });
});

describe('planRetention time zones and DST', () => {
  const zone = (timeZone: string) => ({ now: NOW, timeZone });

  it('Europe/Berlin spring forward: 01:30 CET and 03:30 CEST are different hours of the same day', () => {
    const snaps = [bundle('after', '2026-03-29T01:30:00Z'), bundle('before', '2026-03-29T00:30:00Z')];
    const hourly = planRetention(snaps, { keepHourly: 2 }, zone('Europe/Berlin'));
    expect(hourly.map((d) => d.reasons)).toEqual([['hourly 2026-03-29 03:00'], ['hourly 2026-03-29 01:00']]);
    expect(keptIds(planRetention(snaps, { keepDaily: 2 }, zone('Europe/Berlin')))).toEqual(['after']);
  });

  it('Europe/Berlin fall back: 02:30 CEST and 02:30 CET share one wall-clock hour', () => {
    const snaps = [
      bundle('cet', '2026-10-25T01:30:00Z'),
      bundle('cest', '2026-10-25T00:30:00Z'),
      bundle('earlier', '2026-10-24T23:30:00Z'),
    ];
    const berlin = planRetention(snaps, { keepHourly: 2 }, zone('Europe/Berlin'));
    expect(keptIds(berlin)).toEqual(['cet', 'earlier']);
    expect(reasonsOf(berlin, 'cet')).toEqual(['hourly 2026-10-25 02:00']);
    expect(reasonsOf(berlin, 'earlier')).toEqual(['hourly 2026-10-25 01:00']);
    expect(keptIds(planRetention(snaps, { keepHourly: 2 }, UTC))).toEqual(['cest', 'cet']);
  });

  it('Europe/Berlin: 23:30 UTC is already the next day', () => {
    const snaps = [bundle('late', '2026-03-28T23:30:00Z'), bundle('evening', '2026-03-28T22:30:00Z')];
    const berlin = planRetention(snaps, { keepDaily: 2 }, zone('Europe/Berlin'));
    expect(keptIds(berlin)).toEqual(['evening', 'late']);
    expect(reasonsOf(berlin, 'late')).toEqual(['daily 2026-03-29']);
    expect(reasonsOf(berlin, 'evening')).toEqual(['daily 2026-03-28']);
    expect(keptIds(planRetention(snaps, { keepDaily: 2 }, UTC))).toEqual(['late']);
  });

  it('America/New_York spring forward: 01:30 EST and 03:30 EDT are different hours', () => {
    const snaps = [bundle('edt', '2026-03-08T07:30:00Z'), bundle('est', '2026-03-08T06:30:00Z')];
    const hourly = planRetention(snaps, { keepHourly: 2 }, zone('America/New_York'));
    expect(hourly.map((d) => d.reasons)).toEqual([['hourly 2026-03-08 03:00'], ['hourly 2026-03-08 01:00']]);
  });

  it('America/New_York spring forward: days follow the offset in force at each instant', () => {
    const snaps = [
      bundle('mar9-0030-edt', '2026-03-09T04:30:00Z'),
      bundle('mar8-2330-edt', '2026-03-09T03:30:00Z'),
      bundle('mar8-0030-est', '2026-03-08T05:30:00Z'),
      bundle('mar7-2330-est', '2026-03-08T04:30:00Z'),
    ];
    const decisions = planRetention(snaps, { keepDaily: 3 }, zone('America/New_York'));
    expect(keptIds(decisions)).toEqual(['mar7-2330-est', 'mar8-2330-edt', 'mar9-0030-edt']);
    expect(decisions.filter((d) => d.keep).map((d) => d.reasons)).toEqual([
      ['daily 2026-03-09'],
      ['daily 2026-03-08'],
      ['daily 2026-03-07'],
    ]);
  });

  it('America/New_York fall back: 01:30 EDT and 01:30 EST share one wall-clock hour', () => {
    const snaps = [
      bundle('est', '2026-11-01T06:30:00Z'),
      bundle('edt', '2026-11-01T05:30:00Z'),
      bundle('midnight', '2026-11-01T04:30:00Z'),
      bundle('oct31', '2026-11-01T03:30:00Z'),
    ];
    const newYork = zone('America/New_York');
    expect(keptIds(planRetention(snaps, { keepHourly: 2 }, newYork))).toEqual(['est', 'midnight']);
    expect(keptIds(planRetention(snaps, { keepDaily: 2 }, newYork))).toEqual(['est', 'oct31']);
  });

  it('puts 2026-12-31 and 2027-01-03 in ISO week 2026-W53 and 2027-01-04 in 2027-W01', () => {
    const snaps = [
      bundle('jan4', '2027-01-04T12:00:00Z'),
      bundle('jan3', '2027-01-03T12:00:00Z'),
      bundle('jan1', '2027-01-01T12:00:00Z'),
      bundle('dec31', '2026-12-31T12:00:00Z'),
      bundle('dec27', '2026-12-27T12:00:00Z'),
    ];
    const decisions = planRetention(snaps, { keepWeekly: 3 }, UTC);
    expect(keptIds(decisions)).toEqual(['dec27', 'jan3', 'jan4']);
    expect(decisions.filter((d) => d.keep).map((d) => d.reasons)).toEqual([
      ['weekly 2027-W01'],
      ['weekly 2026-W53'],
      ['weekly 2026-W52'],
    ]);
    expect(keptIds(planRetention(snaps, { keepYearly: 2 }, UTC))).toEqual(['dec31', 'jan4']);
  });

  it('counts weeks in the local zone: Sunday 23:30 UTC is Monday in Berlin', () => {
    const snaps = [
      bundle('monday', '2026-04-20T10:00:00Z'),
      bundle('sunday-late', '2026-04-19T23:30:00Z'),
      bundle('sunday', '2026-04-19T10:00:00Z'),
    ];
    expect(keptIds(planRetention(snaps, { keepWeekly: 2 }, zone('Europe/Berlin')))).toEqual(['monday', 'sunday']);
    expect(keptIds(planRetention(snaps, { keepWeekly: 2 }, UTC))).toEqual(['monday', 'sunday-late']);
  });

  it('counts months and years in the local zone', () => {
    const newYear = [bundle('late', '2026-12-31T23:30:00Z'), bundle('noon', '2026-12-31T12:00:00Z')];
    const berlin = planRetention(newYear, { keepYearly: 2, keepMonthly: 2 }, zone('Europe/Berlin'));
    expect(reasonsOf(berlin, 'late')).toEqual(['monthly 2027-01', 'yearly 2027']);
    expect(reasonsOf(berlin, 'noon')).toEqual(['monthly 2026-12', 'yearly 2026']);
    expect(keptIds(planRetention(newYear, { keepYearly: 2 }, UTC))).toEqual(['late']);
  });

  describe('without an explicit zone', () => {
    const savedTz = process.env.TZ;
    afterEach(() => {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    });

    it('uses the system zone', () => {
      process.env.TZ = 'Europe/Berlin';
      const snaps = [bundle('late', '2026-03-28T23:30:00Z'), bundle('evening', '2026-03-28T22:30:00Z')];
      expect(keptIds(planRetention(snaps, { keepDaily: 2 }, { now: NOW }))).toEqual(['evening', 'late']);
      process.env.TZ = 'UTC';
      expect(keptIds(planRetention(snaps, { keepDaily: 2 }, { now: NOW }))).toEqual(['late']);
    });
  });
});

describe('planRetention refusals', () => {
  it.each<[string, RetentionPolicy]>([
    ['an empty policy', {}],
    ['keep-last 0 alone', { keepLast: 0 }],
    ['keep-name alone', { keepName: ['before-*'] }],
  ])('refuses %s as "no policy given"', (_name, policy) => {
    expect(() => planRetention(HISTORY, policy, UTC)).toThrow(UsageError);
    expect(() => planRetention(HISTORY, policy, UTC)).toThrow('no policy given');
  });

  it.each<[string, RetentionPolicy]>([
    ['a negative count', { keepDaily: -1 }],
    ['a fractional count', { keepLast: 1.5 }],
    ['NaN', { keepHourly: Number.NaN }],
    ['a zero older-than', { olderThanMs: 0 }],
    ['a negative older-than', { olderThanMs: -5 }],
    ['an empty glob', { keepLast: 1, keepName: [''] }],
  ])('refuses %s', (_name, policy) => {
    expect(() => planRetention(HISTORY, policy, UTC)).toThrow(UsageError);
  });

  it('refuses an unknown time zone', () => {
    expect(() => planRetention(HISTORY, { keepLast: 1 }, { now: NOW, timeZone: 'Mars/Olympus' })).toThrow(
      /unknown time zone "Mars\/Olympus"/,
    );
  });
});

describe('policyIsEmpty', () => {
  it.each<[RetentionPolicy, boolean]>([
    [{}, true],
    [{ keepLast: 0, keepDaily: 0 }, true],
    [{ keepName: ['*'] }, true],
    [{ keepLast: 1 }, false],
    [{ keepYearly: 1 }, false],
    [{ keepWeekly: Number.POSITIVE_INFINITY }, false],
    [{ olderThanMs: 1000 }, false],
  ])('%j → %s', (policy, empty) => {
    expect(policyIsEmpty(policy)).toBe(empty);
  });
});

describe('parseDuration', () => {
  it.each<[string, number]>([
    ['90s', 90_000],
    ['30m', 30 * 60_000],
    ['12h', 12 * 3_600_000],
    ['30d', 30 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1s', 1000],
    [' 7d ', 7 * 86_400_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 'd', '30x', '1.5h', '-1d', '1d12h', '30 d', '30D', '1y', '1mo', '0d', '99999999999999w'])(
    'refuses %j with a hint',
    (text) => {
      let thrown: unknown;
      try {
        parseDuration(text);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(UsageError);
      expect((thrown as UsageError).exitCode).toBe(2);
      expect((thrown as UsageError).hint).toMatch(/s, m \(minutes\), h, d or w/);
    },
  );
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [30 * 86_400_000, '30d'],
    [14 * 86_400_000, '14d'],
    [36 * 3_600_000, '36h'],
    [90 * 60_000, '90m'],
    [90_000, '90s'],
    [1500, '1500ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
