import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FixtureScale } from '../fixtures/generate.js';
import type { Place } from './args.js';
import { ClawbackCli, field, firstLine, parseJson, type StepResult } from './clawback-cli.js';
import { duKiB, type Stopwatch } from './measure.js';
import { ReferenceTools, type ToolVersions } from './reference.js';
import { PushSteps, sshSteps } from './remote-steps.js';

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
  'hash-payload',
  'export-tgz',
  'export-zip',
  'import',
  'restore',
  'restore-empty',
  'restic-bundle-first',
  'restic-bundle-unchanged',
  'push-first',
  'push-unchanged',
  'ssh-tar',
  'ssh-create',
  'ssh-create-unchanged',
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
  scale: FixtureScale;
  /** Scales whose home also goes through loopback SSH (SPEC §9: medium). */
  sshScales: FixtureScale[];
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

/** In `commands` when --no-export took export and import out of a build that has them. */
export const SKIP_EXPORT = 'skip-export';
let exportSkipped = false;

function missing(command: string): StepResult {
  if (exportSkipped && /export|import/.test(command)) return { kind: 'missing', reason: 'skipped (--no-export)' };
  return { kind: 'missing', reason: `n/a (${command.replace('snapshot-', 'snapshot ')} not in this build)` };
}

/** A bundle's entries: inline in old manifests, else the gzipped JSON-lines sidecar the header names. */
function bundleEntries(bundleDir: string): unknown {
  const header = JSON.parse(fs.readFileSync(path.join(bundleDir, 'rebuild-manifest.json'), 'utf8')) as unknown;
  const inline = field(header, 'entries');
  if (inline !== undefined) return inline;
  const file = field(header, 'inventory', 'file');
  const count = field(header, 'inventory', 'entries');
  if (typeof file !== 'string' || typeof count !== 'number') return undefined;
  const lines = zlib.gunzipSync(fs.readFileSync(path.join(bundleDir, path.basename(file)))).toString('utf8').split('\n');
  return lines.slice(0, count).map((line) => JSON.parse(line) as unknown);
}

/** Deletes half of the chosen bundle files from the live tree and appends to the rest. */
function changeLiveFiles(root: string, bundleDir: string): Array<{ path: string; size: number }> {
  const entries = bundleEntries(bundleDir);
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
  exportSkipped = commands.has(SKIP_EXPORT);
  const ref = new ReferenceTools(watch, ctx.tools, work);
  const push = new PushSteps(watch, ctx.tools, commands, work);
  const cli = new ClawbackCli(watch, ctx.repo, path.join(work, 'clawback-home'), push.extraEnv);
  const root = home.root;
  const bundles = path.join(cli.home, 'rebuild-backups', SANDBOX);
  cli.must(['sandbox', 'add', SANDBOX, '--agent', 'openclaw', '--root', root]);

  await record('cp-a', ref.cpA(root));
  const first = cli.step([SANDBOX, 'snapshot', 'create', '--json']);
  const firstKiB = duKiB(bundles);
  const captured = field(parseJson(first.timing), 'snapshot', 'files');
  await record('create-first', withDetail(first.result, { bundleKiB: firstKiB, ...(typeof captured === 'number' ? { files: captured } : {}) }));
  if (first.result.kind !== 'timed') {
    const reason: StepResult = { kind: 'failed', reason: 'first snapshot failed' };
    for (const key of ['create-unchanged', 'verify', 'hash-payload', 'export-tgz', 'export-zip', 'import', 'restore', 'restore-empty', 'push-first', 'push-unchanged'] as const) await record(key, reason);
    return;
  }
  const firstDir = field(parseJson(first.timing), 'snapshot', 'dir');
  await push.push(cli, 'push-first', record);

  await record('cp-al', ref.cpAl(root));
  await record('tar-pipe', ref.tarPipe(root));
  const unchanged = cli.step([SANDBOX, 'snapshot', 'create', '--json']);
  const afterKiB = duKiB(bundles);
  await record('create-unchanged', withDetail(unchanged.result, { bundleKiB: firstKiB, extraKiB: afterKiB - firstKiB }));
  const restic = ref.restic(root);
  await record('restic-first', restic.first);
  await record('restic-unchanged', restic.unchanged);
  await push.push(cli, 'push-unchanged', record);
  await push.reference(typeof firstDir === 'string' ? firstDir : null, record);
  if (ctx.sshScales.includes(ctx.scale)) await sshSteps(watch, ctx.repo, commands, root, work, record);
  const latestDir = field(parseJson(unchanged.timing), 'snapshot', 'dir') ?? field(parseJson(first.timing), 'snapshot', 'dir');

  if (commands.has('snapshot-verify')) {
    const v = cli.step([SANDBOX, 'snapshot', 'verify', 'latest', '--json']);
    const json = parseJson(v.timing);
    const bytes = field(json, 'bytes');
    const engineMs = field(json, 'durationMs');
    await record('verify', withDetail(v.result, { bytes: typeof bytes === 'number' ? bytes : 0, ...(typeof engineMs === 'number' ? { engineMs } : {}) }));
  } else await record('verify', missing('snapshot-verify'));
  // The same files read and hashed by OpenSSL on as many processes as verify has cores.
  if (typeof latestDir === 'string') await record('hash-payload', ref.hashTree(path.join(latestDir, 'payload'), os.availableParallelism()));
  else await record('hash-payload', { kind: 'missing', reason: 'n/a (no bundle)' });

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
