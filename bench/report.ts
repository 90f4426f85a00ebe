import type { FixtureScale } from '../fixtures/generate.js';
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

/** Issue 13 / SPEC §9: peak RSS of any command, ≤ 120 MiB up to large, ≤ 150 MiB on xlarge. */
export function rssLimitMiB(scale: FixtureScale): number {
  return scale === 'xlarge' ? 150 : 120;
}
/** `clawback --help` may take this much longer than bare `node -e 0`. */
export const HELP_OVER_NODE_MS = 40;
const LIST_LIMIT_MS = 300;
const VERIFY_MIN_MBPS = 800;
const EXTRA_DISK_MAX_PCT = 1;
const SSH_WIRE_MAX_PCT = 1;

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

function rssCell(kib: number | null, limitMiB = rssLimitMiB('large')): string {
  const m = mib(kib);
  if (m === null) return '';
  return `${m.toFixed(0)}${m > limitMiB ? ' (!)' : ''}`;
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

export interface RatioSpec {
  work: string;
  step: StepKey;
  against: StepKey;
  againstName: string;
  max: number | null;
  /** The target is "faster than", not "at most". */
  strictlyBelow?: boolean;
  target: string;
}

/** Issue 13's target table (SPEC §9), in its order; rows without a target are reference points. */
const FIRST_ROWS: RatioSpec[] = [
  { work: 'first snapshot', step: 'create-first', against: 'cp-a', againstName: 'cp -a', max: 1.5, target: '≤ 1.5× (stretch 1.2×)' },
  { work: 'unchanged re-snapshot', step: 'create-unchanged', against: 'cp-al', againstName: 'cp -al', max: 1.3, target: '≤ 1.3×' },
  { work: 'unchanged re-snapshot', step: 'create-unchanged', against: 'restic-unchanged', againstName: 'restic unchanged', max: 0.5, target: '≤ 0.5×' },
  { work: 'unchanged re-snapshot', step: 'create-unchanged', against: 'cp-a', againstName: 'cp -a', max: null, target: '—' },
];
const RESTORE_ROWS: RatioSpec[] = [
  { work: 'restore, 10 files changed', step: 'restore', against: 'cp-a', againstName: 'cp -a', max: 1.5, target: '≤ 1.5×' },
  { work: 'restore into empty root', step: 'restore-empty', against: 'cp-a', againstName: 'cp -a', max: 1.5, target: '≤ 1.5×' },
];
const LATER_ROWS: RatioSpec[] = [
  { work: 'export tar.gz', step: 'export-tgz', against: 'tar-czf', againstName: 'tar czf', max: 1, target: '≤ 1×' },
  { work: 'export qwenpaw-zip (QwenPaw home)', step: 'export-zip', against: 'tar-czf-qwenpaw', againstName: 'tar czf', max: 1, target: '≤ 1×' },
  { work: 'import tar.gz', step: 'import', against: 'tar-xzf', againstName: 'tar xzf', max: null, target: '—' },
  { work: 'push to restic (first bundle)', step: 'push-first', against: 'restic-bundle-first', againstName: 'restic backup', max: 1.2, target: '≤ 1.2×' },
  { work: 'push to restic (unchanged re-push)', step: 'push-unchanged', against: 'restic-bundle-unchanged', againstName: 'restic unchanged', max: 1.2, target: '≤ 1.2×' },
  { work: 'snapshot through loopback SSH', step: 'ssh-create', against: 'ssh-tar', againstName: 'ssh tar c | tar x', max: 1.5, target: '≤ 1.5×' },
];
/** The ratio rows, for comparing one scale's with another's. */
export const RATIO_ROWS: RatioSpec[] = [...FIRST_ROWS, ...RESTORE_ROWS, ...LATER_ROWS];

function ratioRow(spec: RatioSpec, s: Record<StepKey, StepSummary>, rssLimit: number): Row {
  return compareRow(spec, s[spec.step], s[spec.against], rssLimit);
}

/** One clawback step against one reference step: wall and CPU ratios, target, RSS. */
export function compareRow(spec: Omit<RatioSpec, 'step' | 'against'>, cb: StepSummary, ref: StepSummary, rssLimit: number): Row {
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
    rss: rssCell(cb.rssKiB, rssLimit),
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

/** The unchanged re-snapshot through SSH: bytes on the wire against the home's bytes (--json `wireBytes`). */
function sshWireRow(s: StepSummary, homeBytes: number): Row | null {
  if (s.ms === null) return null;
  const wire = s.detail.wireBytes;
  const pct = wire === undefined || homeBytes <= 0 ? null : (100 * wire) / homeBytes;
  const text = wire === undefined ? 'skipped (snapshot create --json reports no wireBytes)' : `${(wire / 1e6).toFixed(2)} MB of ${(homeBytes / 1e6).toFixed(0)} MB = ${pct!.toFixed(2)} %`;
  return { ...plainRow('SSH unchanged re-snapshot, bytes on the wire', text, `≤ ${SSH_WIRE_MAX_PCT} %`, pct === null ? null : pct <= SSH_WIRE_MAX_PCT, s, pct), rss: '' };
}

/** verify's rate, beside OpenSSL hashing the same payload files on the same number of cores (not the target's measure: a floor). */
function verifyRow(s: StepSummary, openssl: StepSummary): Row {
  const bytes = s.detail.bytes;
  const rate = (ms: number | null | undefined): number | null => (ms && bytes !== undefined && bytes > 0 ? bytes / 1e6 / (ms / 1000) : null);
  const mbps = rate(s.ms);
  const engine = rate(s.detail.engineMs);
  const text =
    s.ms === null
      ? (s.note ?? '—')
      : `${withCpu(s)} = ${mbps === null ? '?' : mbps.toFixed(0)} MB/s${engine === null ? '' : `; engine alone ${engine.toFixed(0)} MB/s`}`;
  const row = plainRow('verify latest', text, `≥ ${VERIFY_MIN_MBPS} MB/s`, mbps === null ? null : mbps >= VERIFY_MIN_MBPS, s, mbps);
  const sslRate = rate(openssl.ms);
  const reference = openssl.ms === null ? `openssl dgst: ${openssl.note ?? '—'}` : `openssl dgst -sha256, same files and cores ${withCpu(openssl)} = ${sslRate === null ? '?' : sslRate.toFixed(0)} MB/s`;
  return { ...row, reference, ratio: times(ratioOf(s.ms, openssl.ms)), cpuRatio: times(ratioOf(s.cpuMs, openssl.cpuMs)), values: { ...row.values, referenceMs: openssl.ms, referenceCpuMs: openssl.cpuMs } };
}

export function limitRow(work: string, s: StepSummary, limitMs: number, target = `≤ ${limitMs} ms`): Row {
  return plainRow(work, s.ms === null ? (s.note ?? '—') : withCpu(s), target, s.ms === null ? null : s.ms <= limitMs, s);
}

/** `clawback --help` against bare `node -e 0` started the same way. */
export function helpRow(work: string, help: StepSummary, node: StepSummary): Row {
  const limit = node.ms === null ? null : node.ms + HELP_OVER_NODE_MS;
  const row = limitRow(work, help, limit ?? 0, `≤ node + ${HELP_OVER_NODE_MS} ms`);
  const over = help.ms !== null && node.ms !== null ? help.ms - node.ms : null;
  return {
    ...row,
    reference: node.ms === null ? `node: ${node.note ?? '—'}` : `node -e 0 ${withCpu(node)}`,
    ratio: over === null ? '—' : `+${Math.round(over)} ms`,
    pass: limit === null || help.ms === null ? null : help.ms <= limit,
    values: { ...row.values, referenceMs: node.ms, referenceCpuMs: node.cpuMs, ratio: ratioOf(help.ms, node.ms) },
  };
}

/** Every clawback command the scenario times, with the name the RSS line gives it. */
export const CLAWBACK_STEPS: Array<[StepKey, string]> = [
  ['create-first', 'create'],
  ['create-unchanged', 're-snapshot'],
  ['verify', 'verify'],
  ['export-tgz', 'export tar.gz'],
  ['export-zip', 'export zip'],
  ['import', 'import'],
  ['restore', 'restore'],
  ['restore-empty', 'restore --to'],
  ['push-first', 'push'],
  ['push-unchanged', 're-push'],
  ['ssh-create', 'create via ssh'],
  ['ssh-create-unchanged', 're-snapshot via ssh'],
];

export function summariseSteps(result: ScenarioResult): Record<StepKey, StepSummary> {
  return Object.fromEntries(Object.entries(result.steps).map(([k, v]) => [k, summarise(v)])) as Record<StepKey, StepSummary>;
}

/** "peak RSS per command: create 138 · re-snapshot 121 · …" (MiB, highest over the runs). */
export function rssLine(result: ScenarioResult): string {
  const s = summariseSteps(result);
  const limit = rssLimitMiB(result.scale);
  const cells = CLAWBACK_STEPS.filter(([k]) => s[k].rssKiB !== null).map(([k, name]) => `${name} ${rssCell(s[k].rssKiB, limit)}`);
  return `peak RSS per command, MiB (target ≤ ${limit}; (!) = over): ${cells.length > 0 ? cells.join(' · ') : '—'}`;
}

export function scenarioRows(result: ScenarioResult, list: StepSummary | null): Row[] {
  const s = summariseSteps(result);
  const limit = rssLimitMiB(result.scale);
  const ratio = (spec: RatioSpec): Row => ratioRow(spec, s, limit);
  const rows = FIRST_ROWS.map(ratio);
  rows.push(extraDiskRow(s['create-unchanged']));
  rows.push(...RESTORE_ROWS.map(ratio));
  rows.push(verifyRow(s.verify, s['hash-payload']));
  if (list) rows.push(limitRow('snapshot list --json, 500 bundles', list, LIST_LIMIT_MS));
  rows.push(...LATER_ROWS.map(ratio).filter((r, i) => !LATER_ROWS[i]!.step.startsWith('ssh') || r.values.clawbackMs !== null || result.scale === 'medium'));
  const wire = sshWireRow(s['ssh-create-unchanged'], result.home.bytes);
  if (wire) rows.push(wire);
  const peaks = CLAWBACK_STEPS.map(([k]) => s[k].rssKiB).filter((v): v is number => v !== null);
  const peak = peaks.length > 0 ? Math.max(...peaks) / 1024 : null;
  rows.push({
    ...plainRow('peak RSS, any command above', peak === null ? '—' : `${peak.toFixed(0)} MiB`, `≤ ${limit} MiB`, peak === null ? null : peak <= limit, null),
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
    ['sqlite-backup', 'sqlite3 .backup'],
    ['restic-bundle-first', 'restic backup of the bundle'],
    ['restic-bundle-unchanged', 'again unchanged'],
    ['ssh-tar', 'ssh tar c | tar x'],
  ];
  return names
    .filter(([key]) => result.steps[key].length > 0)
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
