import { CLAWBACK_STEPS, RATIO_ROWS, summariseSteps } from './report.js';
import type { ScenarioResult } from './scenario.js';

/** SPEC §9: memory flat in the file count: ≤ 0.5 KiB of peak RSS per extra file. */
export const RSS_PER_FILE_MAX_BYTES = 512;
/** SPEC §9: every ratio on xlarge within 10 % of the same ratio on large. */
const RATIO_DRIFT_MAX = 0.1;

export interface RssGrowth {
  command: string;
  smallMiB: number;
  bigMiB: number;
  /** Extra peak RSS per extra file of the home (what the issue quotes), bytes. */
  perHomeFile: number | null;
  /** Extra peak RSS per extra file the snapshot captured, bytes. */
  perCapturedFile: number | null;
  pass: boolean | null;
}

export interface RatioDrift {
  work: string;
  small: number;
  big: number;
  /** big / small − 1. */
  drift: number;
  /** null: not a pair the SPEC judges (only xlarge against large). */
  pass: boolean | null;
}

export interface Growth {
  place: string;
  from: string;
  to: string;
  homeFiles: [number, number];
  capturedFiles: [number | null, number | null];
  rss: RssGrowth[];
  ratios: RatioDrift[];
}

function perFile(extraKiB: number, extraFiles: number | null): number | null {
  return extraFiles === null || extraFiles <= 0 ? null : (extraKiB * 1024) / extraFiles;
}

/** Peak RSS and ratios of two scales measured in the same run (`a` the smaller home). */
export function growthBetween(a: ScenarioResult, b: ScenarioResult): Growth {
  const sa = summariseSteps(a);
  const sb = summariseSteps(b);
  const captured = (r: ScenarioResult): number | null => summariseSteps(r)['create-first'].detail.files ?? null;
  const ca = captured(a);
  const cb = captured(b);
  const rss: RssGrowth[] = [];
  for (const [key, command] of CLAWBACK_STEPS) {
    const ka = sa[key].rssKiB;
    const kb = sb[key].rssKiB;
    if (ka === null || kb === null) continue;
    const perHomeFile = perFile(kb - ka, b.home.files - a.home.files);
    const perCapturedFile = perFile(kb - ka, ca !== null && cb !== null ? cb - ca : null);
    // Judged per home file, as the issue measured it (1,089 MiB / 200,000 files); per captured file is shown too.
    rss.push({ command, smallMiB: ka / 1024, bigMiB: kb / 1024, perHomeFile, perCapturedFile, pass: perHomeFile === null ? null : perHomeFile <= RSS_PER_FILE_MAX_BYTES });
  }
  const ratios: RatioDrift[] = [];
  for (const spec of RATIO_ROWS) {
    const ra = ratio(sa[spec.step].ms, sa[spec.against].ms);
    const rb = ratio(sb[spec.step].ms, sb[spec.against].ms);
    if (ra === null || rb === null) continue;
    const drift = rb / ra - 1;
    // The SPEC judges xlarge against large; other pairs are shown without a verdict.
    const judged = a.scale === 'large' && b.scale === 'xlarge';
    ratios.push({ work: `${spec.work} / ${spec.againstName}`, small: ra, big: rb, drift, pass: judged ? drift <= RATIO_DRIFT_MAX : null });
  }
  return { place: a.place, from: a.scale, to: b.scale, homeFiles: [a.home.files, b.home.files], capturedFiles: [ca, cb], rss, ratios };
}

function ratio(x: number | null, y: number | null): number | null {
  return x !== null && y !== null && y > 0 ? x / y : null;
}

function ok(pass: boolean | null): string {
  return pass === null ? '' : pass ? 'ok' : 'MISS';
}

/** Text lines for one pair of scales. */
export function renderGrowth(g: Growth): string[] {
  const files = `${g.homeFiles[0]} → ${g.homeFiles[1]} home files` + (g.capturedFiles[0] !== null && g.capturedFiles[1] !== null ? `, ${g.capturedFiles[0]} → ${g.capturedFiles[1]} captured` : '');
  const out = [`## growth ${g.from} → ${g.to} on ${g.place} (${files})`];
  out.push(`peak RSS per extra file (target ≤ ${RSS_PER_FILE_MAX_BYTES} B per extra home file):`);
  for (const r of g.rss) {
    const home = r.perHomeFile === null ? '—' : `${r.perHomeFile.toFixed(0)} B/home file`;
    const cap = r.perCapturedFile === null ? '' : `, ${r.perCapturedFile.toFixed(0)} B/captured file`;
    out.push(`  ${r.command.padEnd(20)} ${r.smallMiB.toFixed(0).padStart(5)} → ${r.bigMiB.toFixed(0).padStart(5)} MiB  ${home}${cap}  ${ok(r.pass)}`);
  }
  if (g.ratios.length > 0) {
    out.push(`ratios, ${g.to} against ${g.from}${g.from === 'large' && g.to === 'xlarge' ? ` (target: within +${RATIO_DRIFT_MAX * 100} %)` : ' (judged only for large → xlarge)'}:`);
    for (const r of g.ratios) {
      out.push(`  ${r.work.padEnd(52)} ${r.small.toFixed(2)}× → ${r.big.toFixed(2)}×  ${r.drift >= 0 ? '+' : ''}${(r.drift * 100).toFixed(0)} %  ${ok(r.pass)}`);
    }
  }
  return out;
}
