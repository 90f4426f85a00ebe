import type { StepResult } from './clawback-cli.js';
import { median } from './measure.js';
import type { ScenarioResult, StepKey } from './scenario.js';

/** Medians of one step over the runs, or the reason it has none. */
export interface StepSummary {
  ms: number | null;
  cpuMs: number | null;
  /** Highest peak RSS over the runs, KiB. */
  rssKiB: number | null;
  /** Medians of the step's extra numbers (bytes verified, disk used, ...). */
  detail: Record<string, number>;
  note: string | null;
}

export const NOT_RUN: StepSummary = { ms: null, cpuMs: null, rssKiB: null, detail: {}, note: 'not run' };

export function summarise(results: StepResult[]): StepSummary {
  const timed = results.filter((r): r is Extract<StepResult, { kind: 'timed' }> => r.kind === 'timed');
  const other = results.find((r): r is Exclude<StepResult, { kind: 'timed' }> => r.kind !== 'timed');
  const note = other?.reason ?? null;
  if (timed.length === 0) return { ...NOT_RUN, note: note ?? 'not run' };
  const keys = new Set(timed.flatMap((r) => Object.keys(r.detail ?? {})));
  const detail: Record<string, number> = {};
  for (const key of keys) {
    const values = timed.map((r) => r.detail?.[key]).filter((v): v is number => v !== undefined);
    detail[key] = median(values)!;
  }
  const rss = timed.map((r) => r.rssKiB).filter((v): v is number => v !== null);
  return {
    ms: median(timed.map((r) => r.wallMs))!,
    cpuMs: median(timed.map((r) => r.cpuMs).filter((v): v is number => v !== null)) ?? null,
    rssKiB: rss.length > 0 ? Math.max(...rss) : null,
    detail,
    // Some runs failing while others passed still needs saying.
    note: timed.length < results.length ? `${results.length - timed.length} of ${results.length} runs: ${note}` : null,
  };
}

export interface Row {
  work: string;
  clawback: string;
  reference: string;
  /** Wall-clock ratio, what README "Benchmarks" judges. */
  ratio: string;
  /** CPU-time ratio (user + system), steadier when other work loads the machine. */
  cpuRatio: string;
  target: string;
  /** true = meets the target, false = misses it, null = no target or nothing measured. */
  pass: boolean | null;
  rss: string;
  values: {
    clawbackMs: number | null;
    clawbackCpuMs: number | null;
    referenceMs: number | null;
    referenceCpuMs: number | null;
    ratio: number | null;
    cpuRatio: number | null;
    rssMiB: number | null;
  };
}

const RSS_LIMIT_MIB = 150;
export const HELP_LIMIT_MS = 150;
const LIST_LIMIT_MS = 300;
const VERIFY_MIN_MBPS = 1000;
const EXTRA_DISK_MAX_PCT = 1;

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function withCpu(s: StepSummary): string {
  return `${formatMs(s.ms)}${s.cpuMs !== null ? ` (cpu ${formatMs(s.cpuMs)})` : ''}`;
}

function mib(kib: number | null): number | null {
  return kib === null ? null : kib / 1024;
}

function rssCell(kib: number | null): string {
  const m = mib(kib);
  if (m === null) return '';
  return `${m.toFixed(0)}${m > RSS_LIMIT_MIB ? ' (!)' : ''}`;
}

function ratioOf(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && b > 0 ? a / b : null;
}

function times(r: number | null): string {
  return r === null ? '—' : `${r.toFixed(2)}×`;
}

function plainRow(work: string, clawback: string, target: string, pass: boolean | null, s: StepSummary | null, ratio: number | null = null): Row {
  return {
    work,
    clawback,
    reference: '—',
    ratio: '—',
    cpuRatio: '—',
    target,
    pass,
    rss: rssCell(s?.rssKiB ?? null),
    values: { clawbackMs: s?.ms ?? null, clawbackCpuMs: s?.cpuMs ?? null, referenceMs: null, referenceCpuMs: null, ratio, cpuRatio: null, rssMiB: mib(s?.rssKiB ?? null) },
  };
}

interface RatioSpec {
  work: string;
  step: StepKey;
  against: StepKey;
  againstName: string;
  max: number | null;
  /** The target is "faster than", not "at most". */
  strictlyBelow?: boolean;
  target: string;
}

const RATIO_ROWS: RatioSpec[] = [
  { work: 'first snapshot', step: 'create-first', against: 'cp-a', againstName: 'cp -a', max: 2, target: '≤ 2× (stretch 1×)' },
  { work: 'unchanged re-snapshot', step: 'create-unchanged', against: 'cp-a', againstName: 'cp -a', max: 0.5, target: '≤ 0.5×' },
  { work: 'unchanged re-snapshot', step: 'create-unchanged', against: 'restic-unchanged', againstName: 'restic unchanged', max: 1, strictlyBelow: true, target: '< 1×' },
  { work: 'restore, 10 files changed', step: 'restore', against: 'cp-a', againstName: 'cp -a', max: 2, target: '≤ 2×' },
  { work: 'restore into empty root', step: 'restore-empty', against: 'cp-a', againstName: 'cp -a', max: 2, target: '≤ 2×' },
  { work: 'export tar.gz', step: 'export-tgz', against: 'tar-czf', againstName: 'tar czf', max: 2, target: '≤ 2×' },
  { work: 'export qwenpaw-zip (QwenPaw home)', step: 'export-zip', against: 'tar-czf-qwenpaw', againstName: 'tar czf', max: 2, target: '≤ 2×' },
  { work: 'import tar.gz', step: 'import', against: 'tar-xzf', againstName: 'tar xzf', max: null, target: '—' },
  { work: 'push (hashes checked, restic backup)', step: 'push-first', against: 'restic-bundle-first', againstName: 'restic backup of the bundle', max: 1.2, target: '≤ 1.2×' },
  { work: 'push of an unchanged snapshot', step: 'push-unchanged', against: 'restic-bundle-unchanged', againstName: 'restic unchanged', max: 1.2, target: '≤ 1.2×' },
];

function ratioRow(spec: RatioSpec, s: Record<StepKey, StepSummary>): Row {
  const cb = s[spec.step];
  const ref = s[spec.against];
  const ratio = ratioOf(cb.ms, ref.ms);
  const cpuRatio = ratioOf(cb.cpuMs, ref.cpuMs);
  const pass = ratio === null || spec.max === null ? null : spec.strictlyBelow ? ratio < spec.max : ratio <= spec.max;
  return {
    work: spec.work,
    clawback: cb.ms !== null ? withCpu(cb) + (cb.note ? ` [${cb.note}]` : '') : (cb.note ?? '—'),
    reference: ref.ms !== null ? `${spec.againstName} ${withCpu(ref)}` : `${spec.againstName}: ${ref.note ?? '—'}`,
    ratio: times(ratio),
    cpuRatio: times(cpuRatio),
    target: spec.target,
    pass,
    rss: rssCell(cb.rssKiB),
    values: { clawbackMs: cb.ms, clawbackCpuMs: cb.cpuMs, referenceMs: ref.ms, referenceCpuMs: ref.cpuMs, ratio, cpuRatio, rssMiB: mib(cb.rssKiB) },
  };
}

function extraDiskRow(s: StepSummary): Row {
  const extra = s.detail.extraKiB;
  const base = s.detail.bundleKiB;
  const pct = extra !== undefined && base !== undefined && base > 0 ? (100 * extra) / base : null;
  const text = extra === undefined ? (s.note ?? '—') : `+${(extra / 1024).toFixed(1)} MiB on ${((base ?? 0) / 1024).toFixed(1)} MiB = ${pct === null ? '?' : pct.toFixed(2)} %`;
  return { ...plainRow('extra disk of re-snapshot (du -sk)', text, `≤ ${EXTRA_DISK_MAX_PCT} %`, pct === null ? null : pct <= EXTRA_DISK_MAX_PCT, null, pct), rss: '' };
}

function verifyRow(s: StepSummary): Row {
  const bytes = s.detail.bytes;
  const rate = (ms: number | null | undefined): number | null => (ms && bytes !== undefined && bytes > 0 ? bytes / 1e6 / (ms / 1000) : null);
  const mbps = rate(s.ms);
  const engine = rate(s.detail.engineMs);
  const text =
    s.ms === null
      ? (s.note ?? '—')
      : `${withCpu(s)} = ${mbps === null ? '?' : mbps.toFixed(0)} MB/s${engine === null ? '' : `; engine alone ${engine.toFixed(0)} MB/s`}`;
  return plainRow('verify latest', text, `≥ ${VERIFY_MIN_MBPS} MB/s`, mbps === null ? null : mbps >= VERIFY_MIN_MBPS, s, mbps);
}

export function limitRow(work: string, s: StepSummary, limitMs: number): Row {
  return plainRow(work, s.ms === null ? (s.note ?? '—') : withCpu(s), `≤ ${limitMs} ms`, s.ms === null ? null : s.ms <= limitMs, s);
}

const CLAWBACK_STEPS: StepKey[] = ['create-first', 'create-unchanged', 'verify', 'export-tgz', 'export-zip', 'import', 'restore', 'restore-empty'];

export function scenarioRows(result: ScenarioResult, list: StepSummary | null): Row[] {
  const s = Object.fromEntries(Object.entries(result.steps).map(([k, v]) => [k, summarise(v)])) as Record<StepKey, StepSummary>;
  const rows = RATIO_ROWS.slice(0, 3).map((spec) => ratioRow(spec, s));
  rows.push(extraDiskRow(s['create-unchanged']));
  rows.push(...RATIO_ROWS.slice(3, 5).map((spec) => ratioRow(spec, s)));
  rows.push(verifyRow(s.verify));
  rows.push(...RATIO_ROWS.slice(5).map((spec) => ratioRow(spec, s)));
  if (list) rows.push(limitRow('snapshot list --json, 500 bundles', list, LIST_LIMIT_MS));
  const peaks = CLAWBACK_STEPS.map((k) => s[k].rssKiB).filter((v): v is number => v !== null);
  const peak = peaks.length > 0 ? Math.max(...peaks) / 1024 : null;
  rows.push({
    ...plainRow('peak RSS, any command above', peak === null ? '—' : `${peak.toFixed(0)} MiB`, `≤ ${RSS_LIMIT_MIB} MiB`, peak === null ? null : peak <= RSS_LIMIT_MIB, null),
    values: { clawbackMs: null, clawbackCpuMs: null, referenceMs: null, referenceCpuMs: null, ratio: null, cpuRatio: null, rssMiB: peak },
  });
  return rows;
}

/** The reference tools' own medians, for the line under each table. */
export function referenceLine(result: ScenarioResult): string {
  const names: Array<[StepKey, string]> = [
    ['cp-a', 'cp -a'],
    ['cp-al', 'cp -al'],
    ['tar-pipe', 'tar c | tar x'],
    ['tar-czf', 'tar czf'],
    ['tar-czf-qwenpaw', 'tar czf (QwenPaw home)'],
    ['tar-xzf', 'tar xzf'],
    ['restic-first', 'restic first'],
    ['restic-unchanged', 'restic unchanged'],
    ['restic-bundle-first', 'restic of a bundle'],
    ['restic-bundle-unchanged', 'restic of a bundle unchanged'],
    ['sqlite-backup', 'sqlite3 .backup'],
  ];
  return names
    .map(([key, name]) => {
      const s = summarise(result.steps[key]);
      return `${name} ${s.ms !== null ? withCpu(s) : s.note}`;
    })
    .join(' · ');
}

function marker(pass: boolean | null): string {
  return pass === null ? '' : pass ? 'ok' : 'MISS';
}

export function renderRows(rows: Row[]): string[] {
  const header = ['work', 'clawback wall (cpu)', 'reference wall (cpu)', 'ratio', 'cpu ratio', 'target', 'ok', 'RSS MiB'];
  const cells = rows.map((r) => [r.work, r.clawback, r.reference, r.ratio, r.cpuRatio, r.target, marker(r.pass), r.rss]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
}
