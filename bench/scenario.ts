import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FixtureScale } from '../fixtures/generate.js';
import type { Place } from './args.js';
import { ClawbackCli, field, firstLine, parseJson, type StepResult } from './clawback-cli.js';
import { duKiB, type Stopwatch } from './measure.js';
import { benchPush, PUSH_STEPS } from './offsite.js';
import { ReferenceTools, type ToolVersions } from './reference.js';

export const STEP_KEYS = [
  'cp-a',
  'cp-al',
  'tar-pipe',
  'tar-czf',
  'tar-czf-qwenpaw',
  'tar-xzf',
  'restic-first',
  'restic-unchanged',
  'sqlite-backup',
  'create-first',
  'create-unchanged',
  'verify',
  'export-tgz',
  'export-zip',
  'import',
  'restore',
  'restore-empty',
  ...PUSH_STEPS,
] as const;
export type StepKey = (typeof STEP_KEYS)[number];

export interface HomeInfo {
  root: string;
  files: number;
  bytes: number;
  databases: string[];
}

/** A QwenPaw home (working dir, secret dir and an outside workspace under `dir`), for the zip export. */
export interface QwenPawHomeInfo extends HomeInfo {
  dir: string;
  secretsDir?: string;
}

export interface ScenarioContext {
  watch: Stopwatch;
  tools: ToolVersions;
  repo: string;
  /** Hidden commands registered in the built binary (`snapshot-restore`, ...). */
  commands: Set<string>;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export interface ScenarioResult {
  scale: FixtureScale;
  place: Place;
  dir: string;
  home: { files: number; bytes: number; databases: number };
  qwenpawHome: { files: number; bytes: number } | null;
  runs: number;
  loadavg: { start: number[]; end: number[] };
  steps: Record<StepKey, StepResult[]>;
}

const SANDBOX = 'bench';
const QWENPAW_SANDBOX = 'bench-qwenpaw';
const PARTIAL_EXIT = 3;
const CHANGED_FILES = 10;

function missing(command: string): StepResult {
  return { kind: 'missing', reason: `n/a (${command.replace('snapshot-', 'snapshot ')} not in this build)` };
}

/** Deletes half of the chosen bundle files from the live tree and appends to the rest. */
function changeLiveFiles(root: string, bundleDir: string): Array<{ path: string; size: number }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(bundleDir, 'rebuild-manifest.json'), 'utf8')) as unknown;
  const entries = field(manifest, 'entries');
  if (!Array.isArray(entries)) throw new Error(`no entries in ${bundleDir}/rebuild-manifest.json`);
  // Daily memory notes: plain files that restore copies back as they are (no config merge).
  const candidates = entries
    .filter((e: unknown): e is { path: string; size: number } => {
      const p = field(e, 'path');
      return field(e, 'type') === 'file' && typeof p === 'string' && /^workspace[^/]*\/memory\/[^/]+\.md$/.test(p) && typeof field(e, 'size') === 'number';
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  if (candidates.length < CHANGED_FILES) throw new Error(`only ${candidates.length} memory notes to change`);
  const step = Math.floor(candidates.length / CHANGED_FILES);
  const chosen = Array.from({ length: CHANGED_FILES }, (_, i) => candidates[i * step]!);
  chosen.forEach((entry, i) => {
    const live = path.join(root, entry.path);
    if (i % 2 === 0) fs.rmSync(live);
    else fs.appendFileSync(live, '\nchanged by the benchmark\n');
  });
  return chosen;
}

function unrestored(root: string, chosen: Array<{ path: string; size: number }>): string[] {
  return chosen.filter((e) => {
    try {
      return fs.statSync(path.join(root, e.path)).size !== e.size;
    } catch {
      return true;
    }
  }).map((e) => e.path);
}

function withDetail(result: StepResult, detail: Record<string, number>): StepResult {
  return result.kind === 'timed' ? { ...result, detail } : result;
}

/** Only QwenPaw snapshots export as a QwenPaw zip, so this one runs on a QwenPaw home of the same scale. */
async function exportQwenPawZip(
  cli: ClawbackCli,
  ref: ReferenceTools,
  home: QwenPawHomeInfo,
  work: string,
  record: (key: StepKey, r: StepResult) => Promise<void>,
): Promise<void> {
  cli.must(['sandbox', 'add', QWENPAW_SANDBOX, '--agent', 'qwenpaw', '--root', home.root, ...(home.secretsDir ? ['--secrets-root', home.secretsDir] : [])]);
  const created = cli.run([QWENPAW_SANDBOX, 'snapshot', 'create']);
  if (created.status !== 0 && created.status !== PARTIAL_EXIT) {
    await record('export-zip', { kind: 'failed', reason: `QwenPaw snapshot failed: ${firstLine(created.stderr)}` });
    return;
  }
  await record('tar-czf-qwenpaw', ref.tarCzf(home.dir, false));
  const zip = path.join(work, 'export.zip');
  const z = cli.step([QWENPAW_SANDBOX, 'snapshot', 'export', 'latest', '-o', zip, '--format', 'qwenpaw-zip']);
  await record('export-zip', withDetail(z.result, { archiveBytes: fs.existsSync(zip) ? fs.statSync(zip).size : 0 }));
  fs.rmSync(zip, { force: true });
}

/** One full pass of every step over one generated home; reference and clawback steps alternate. */
async function onePass(ctx: ScenarioContext, home: HomeInfo, qwenpaw: QwenPawHomeInfo | null, work: string, record: (key: StepKey, r: StepResult) => Promise<void>): Promise<void> {
  const { watch, commands } = ctx;
  const ref = new ReferenceTools(watch, ctx.tools, work);
  const cli = new ClawbackCli(watch, ctx.repo, path.join(work, 'clawback-home'));
  const root = home.root;
  const bundles = path.join(cli.home, 'rebuild-backups', SANDBOX);
  cli.must(['sandbox', 'add', SANDBOX, '--agent', 'openclaw', '--root', root]);

  await record('cp-a', ref.cpA(root));
  const first = cli.step([SANDBOX, 'snapshot', 'create', '--json']);
  const firstKiB = duKiB(bundles);
  await record('create-first', withDetail(first.result, { bundleKiB: firstKiB }));
  if (first.result.kind !== 'timed') {
    const reason: StepResult = { kind: 'failed', reason: 'first snapshot failed' };
    for (const key of ['create-unchanged', 'verify', 'export-tgz', 'export-zip', 'import', 'restore', 'restore-empty'] as const) await record(key, reason);
    return;
  }

  await record('cp-al', ref.cpAl(root));
  await record('tar-pipe', ref.tarPipe(root));
  const unchanged = cli.step([SANDBOX, 'snapshot', 'create', '--json']);
  const afterKiB = duKiB(bundles);
  await record('create-unchanged', withDetail(unchanged.result, { bundleKiB: firstKiB, extraKiB: afterKiB - firstKiB }));
  const restic = ref.restic(root);
  await record('restic-first', restic.first);
  await record('restic-unchanged', restic.unchanged);
  const latestDir = field(parseJson(unchanged.timing), 'snapshot', 'dir') ?? field(parseJson(first.timing), 'snapshot', 'dir');
  const pushed = [field(parseJson(first.timing), 'snapshot', 'dir'), field(parseJson(unchanged.timing), 'snapshot', 'dir')].filter((d): d is string => typeof d === 'string');
  await benchPush(cli, ref, SANDBOX, pushed, work, commands.has('snapshot-push'), record);

  if (commands.has('snapshot-verify')) {
    const v = cli.step([SANDBOX, 'snapshot', 'verify', 'latest', '--json']);
    const json = parseJson(v.timing);
    const bytes = field(json, 'bytes');
    const engineMs = field(json, 'durationMs');
    await record('verify', withDetail(v.result, { bytes: typeof bytes === 'number' ? bytes : 0, ...(typeof engineMs === 'number' ? { engineMs } : {}) }));
  } else await record('verify', missing('snapshot-verify'));

  const tgz = path.join(work, 'export.tar.gz');
  if (commands.has('snapshot-export')) {
    await record('tar-czf', ref.tarCzf(root));
    const t = cli.step([SANDBOX, 'snapshot', 'export', 'latest', '-o', tgz, '--format', 'tar.gz']);
    await record('export-tgz', withDetail(t.result, { archiveBytes: fs.existsSync(tgz) ? fs.statSync(tgz).size : 0 }));
    await record('tar-xzf', ref.tarXzf());
    if (qwenpaw === null) await record('export-zip', { kind: 'missing', reason: 'n/a (no QwenPaw home generated)' });
    else await exportQwenPawZip(cli, ref, qwenpaw, work, record);
  } else {
    // gzip of a large tree takes a minute here; without export there is nothing to compare it with.
    const skipped: StepResult = { kind: 'missing', reason: 'skipped (no export to compare)' };
    for (const key of ['tar-czf', 'tar-czf-qwenpaw', 'tar-xzf'] as const) await record(key, skipped);
    await record('export-tgz', missing('snapshot-export'));
    await record('export-zip', missing('snapshot-export'));
  }
  if (!commands.has('snapshot-import')) await record('import', missing('snapshot-import'));
  else if (!fs.existsSync(tgz)) await record('import', { kind: 'missing', reason: 'n/a (no exported archive)' });
  else {
    const importRoot = path.join(work, 'import-root');
    fs.mkdirSync(importRoot);
    cli.must(['sandbox', 'add', 'bench-import', '--agent', 'openclaw', '--root', importRoot]);
    await record('import', cli.step(['bench-import', 'snapshot', 'import', tgz]).result);
  }
  fs.rmSync(tgz, { force: true });

  await record('sqlite-backup', ref.sqliteBackup(home.databases));

  if (commands.has('snapshot-restore') && typeof latestDir === 'string') {
    const chosen = changeLiveFiles(root, latestDir);
    const r = cli.step([SANDBOX, 'snapshot', 'restore', 'latest', '--yes', '--no-pre-restore']);
    const left = r.result.kind === 'timed' ? unrestored(root, chosen) : [];
    await record('restore', left.length > 0 ? { kind: 'failed', reason: `${left.length} changed files not restored: ${left[0]}` } : r.result);
    const copy = path.join(work, 'restore-copy');
    await record('restore-empty', cli.step([SANDBOX, 'snapshot', 'restore', 'latest', '--to', 'bench-copy', '--root', copy, '--yes', '--no-pre-restore']).result);
  } else {
    await record('restore', missing('snapshot-restore'));
    await record('restore-empty', missing('snapshot-restore'));
  }
}

export async function runScenario(
  ctx: ScenarioContext,
  opts: { scale: FixtureScale; place: Place; base: string; runs: number; home: HomeInfo; qwenpaw: QwenPawHomeInfo | null },
): Promise<ScenarioResult> {
  const steps = Object.fromEntries(STEP_KEYS.map((k) => [k, [] as StepResult[]])) as Record<StepKey, StepResult[]>;
  const start = os.loadavg();
  for (let i = 1; i <= opts.runs; i++) {
    const work = path.join(opts.base, `run-${opts.scale}-${i}`);
    fs.mkdirSync(work);
    try {
      await onePass(ctx, opts.home, opts.qwenpaw, work, async (key, r) => {
        steps[key].push(r);
        ctx.log(`  ${opts.place} ${opts.scale} run ${i}/${opts.runs}: ${key} ${r.kind === 'timed' ? `${r.wallMs.toFixed(0)} ms` : r.reason}`);
        await ctx.watch.checkpoint();
      });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  return {
    scale: opts.scale,
    place: opts.place,
    dir: opts.base,
    home: { files: opts.home.files, bytes: opts.home.bytes, databases: opts.home.databases.length },
    qwenpawHome: opts.qwenpaw ? { files: opts.qwenpaw.files, bytes: opts.qwenpaw.bytes } : null,
    runs: opts.runs,
    loadavg: { start, end: os.loadavg() },
    steps,
  };
}
