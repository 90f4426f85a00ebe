import fs from 'node:fs';
import path from 'node:path';
import { generateHome } from '../fixtures/generate.js';
import { ClawbackCli, field, parseJson, stepResult, type StepResult } from './clawback-cli.js';
import { median, type Stopwatch } from './measure.js';

export const LIST_BUNDLES = 500;
const LIST_RUNS = 5;
const SANDBOX = 'bench-list';

function bundleTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}

/**
 * Times `snapshot list --json` over 500 bundles of a tiny home. Creating 500 real
 * snapshots would take minutes, so one real bundle is cloned with `cp -al` under
 * earlier timestamps, each clone with its own manifest (the original's text, its timestamp replaced).
 */
export function benchList(watch: Stopwatch, repo: string, work: string): StepResult & { runs?: number[] } {
  const home = path.join(work, 'list-home');
  const cli = new ClawbackCli(watch, repo, home);
  const tiny = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(work, 'list-tree') });
  cli.must(['sandbox', 'add', SANDBOX, '--agent', 'openclaw', '--root', tiny.root]);
  const created = parseJson(cli.must([SANDBOX, 'snapshot', 'create', '--json']));
  const source = field(created, 'snapshot', 'dir');
  if (typeof source !== 'string') throw new Error('snapshot create --json printed no snapshot.dir');
  const manifestPath = path.join(source, 'rebuild-manifest.json');
  const manifestText = fs.readFileSync(manifestPath, 'utf8');
  const sourceTimestamp = path.basename(source);
  const timestampField = `"timestamp": ${JSON.stringify(sourceTimestamp)}`;
  if (!manifestText.includes(timestampField)) throw new Error(`${manifestPath} names no timestamp ${sourceTimestamp}`);
  const parent = path.dirname(source);
  const newest = Date.parse('2026-01-01T00:00:00.000Z');
  for (let i = 1; i < LIST_BUNDLES; i++) {
    const timestamp = bundleTimestamp(newest - i * 3_600_000);
    const clone = path.join(parent, timestamp);
    const cp = watch.run('cp', ['-al', source, clone]);
    if (cp.status !== 0) throw new Error(`cp -al ${source} ${clone} failed: ${cp.stderr.trim()}`);
    // The clone's manifest is a hard link to the original: replace it, never write through it.
    const clonedManifest = path.join(clone, 'rebuild-manifest.json');
    fs.unlinkSync(clonedManifest);
    // Only the timestamp changes: the rest stays byte for byte as clawback wrote it, so list reads
    // the clones the way it reads real bundles (re-serialising them once hid the header-only read).
    fs.writeFileSync(clonedManifest, manifestText.replace(timestampField, `"timestamp": ${JSON.stringify(timestamp)}`), { mode: 0o600 });
  }

  const runs: number[] = [];
  const cpu: number[] = [];
  let rss = 0;
  for (let i = 0; i < LIST_RUNS; i++) {
    const t = cli.run([SANDBOX, 'snapshot', 'list', '--json']);
    const r = stepResult(t);
    if (r.kind !== 'timed') return r;
    const listed = field(parseJson(t), 'snapshots');
    if (!Array.isArray(listed) || listed.length !== LIST_BUNDLES) {
      return { kind: 'failed', reason: `snapshot list showed ${Array.isArray(listed) ? listed.length : 'no'} snapshots, expected ${LIST_BUNDLES}` };
    }
    runs.push(r.wallMs);
    if (r.cpuMs !== null) cpu.push(r.cpuMs);
    rss = Math.max(rss, r.rssKiB ?? 0);
  }
  return { kind: 'timed', wallMs: median(runs)!, cpuMs: median(cpu) ?? null, rssKiB: rss || null, runs };
}
