import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateHome, type FixtureScale } from '../fixtures/generate.js';
import { BenchUsageError, DEFAULT_RUNS, parseBenchArgs, USAGE, type BenchOptions, type Place } from './args.js';
import { ClawbackCli, hasCommand, hasVia, stepResult, type StepResult } from './clawback-cli.js';
import { growthBetween, renderGrowth, type Growth } from './growth.js';
import { benchList } from './many-bundles.js';
import { Interrupted, Stopwatch } from './measure.js';
import { toolVersions } from './reference.js';
import { PUSH_COMMAND, VIA_SSH } from './remote-steps.js';
import { formatMs, helpRow, referenceLine, renderRows, rssLine, scenarioRows, summarise, type Row, type StepSummary } from './report.js';
import { runScenario, SKIP_EXPORT, type QwenPawHomeInfo, type ScenarioContext, type ScenarioResult } from './scenario.js';
import { benchSqlite, sqliteRows, type SqliteSection } from './sqlite-scale.js';

const TMPFS_MAGIC = 0x01021994;
const HELP_RUNS = 10;
const OPTIONAL_COMMANDS = ['snapshot-verify', 'snapshot-restore', 'snapshot-export', 'snapshot-import', PUSH_COMMAND];
/** SPEC §9: the SSH row is measured on the medium home. */
const SSH_SCALES: FixtureScale[] = ['medium'];
const SCALE_ORDER: FixtureScale[] = ['tiny', 'small', 'medium', 'large', 'xlarge'];

function isTmpfs(dir: string): boolean {
  return fs.statfsSync(dir).type === TMPFS_MAGIC;
}

/** tmpfs is /dev/shm; disk is os.tmpdir() unless that is itself a tmpfs. */
function placeParent(place: Place): string {
  if (place === 'tmpfs') {
    if (!fs.existsSync('/dev/shm') || !isTmpfs('/dev/shm')) throw new Error('/dev/shm is not a tmpfs here; run with --where disk');
    return '/dev/shm';
  }
  const tmp = os.tmpdir();
  return isTmpfs(tmp) ? '/var/tmp' : tmp;
}

function load(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

interface BenchReport {
  schemaVersion: 1;
  startedAt: string;
  machine: { node: string; cpus: number; cpuModel: string; gnuTime: boolean; restic: string | null; sqlite3: string | null; tar: string | null };
  commands: string[];
  help: { runsMs: number[]; summary: StepSummary; node: StepSummary; nodeRunsMs: number[]; row: Row };
  lists: Array<{ place: Place; summary: StepSummary; runsMs: number[] }>;
  results: Array<ScenarioResult & { rows: Row[]; references: string; rss: string }>;
  /** Peak RSS per extra file and ratio drift between each pair of consecutive scales, per place. */
  growth: Growth[];
  sqlite: Array<SqliteSection & { place: Place; rows: Row[] }>;
  loadavgEnd: number[];
}

/** A broken list setup (say, a build caught mid-edit) costs its row, not the whole run. */
function listOrFailure(measure: () => ReturnType<typeof benchList>): ReturnType<typeof benchList> {
  try {
    return measure();
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    return { kind: 'failed', reason: `setup failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
}

interface PlaceContext {
  opts: BenchOptions;
  place: Place;
  base: string;
  watch: Stopwatch;
  tools: ReturnType<typeof toolVersions>;
  repo: string;
  commands: Set<string>;
  report: BenchReport;
  out: (line: string) => void;
  log: (line: string) => void;
}

/** One scale's home (and QwenPaw home for the zip export) generated, measured and removed. */
async function benchScale(pc: PlaceContext, scale: FixtureScale, runs: number, listSummary: StepSummary | null): Promise<ScenarioResult> {
  const { place, base, watch, commands, log, out } = pc;
  const treeDir = path.join(base, `home-${scale}`);
  const qwenDir = path.join(base, `qwenpaw-${scale}`);
  try {
    log(`${place}: generating openclaw ${scale} home…`);
    const started = process.hrtime.bigint();
    const generated = generateHome({ kind: 'openclaw', scale, dir: treeDir });
    log(`${place}: generated in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
    await watch.checkpoint();
    let qwenpaw: QwenPawHomeInfo | null = null;
    if (commands.has('snapshot-export')) {
      log(`${place}: generating qwenpaw ${scale} home for the zip export…`);
      qwenpaw = { ...generateHome({ kind: 'qwenpaw', scale, dir: qwenDir }), dir: qwenDir };
      await watch.checkpoint();
    }
    const ctx: ScenarioContext = { watch, tools: pc.tools, repo: pc.repo, commands, log, scale, sshScales: SSH_SCALES };
    const result = await runScenario(ctx, { scale, place, base, runs, home: generated, qwenpaw });
    const rows = scenarioRows(result, listSummary);
    const references = referenceLine(result);
    const rss = rssLine(result);
    pc.report.results.push({ ...result, rows, references, rss });
    out('');
    out(
      `## openclaw ${scale} on ${place} (${base}): ${generated.files} files, ${(generated.bytes / 1e6).toFixed(0)} MB` +
        (qwenpaw ? ` (QwenPaw ${scale} for the zip: ${qwenpaw.files} files, ${(qwenpaw.bytes / 1e6).toFixed(0)} MB)` : '') +
        '; ' +
        `${runs} run${runs === 1 ? '' : 's'}, medians; load ${result.loadavg.start.map((l) => l.toFixed(2)).join(' ')} → ${result.loadavg.end.map((l) => l.toFixed(2)).join(' ')}`,
    );
    for (const line of renderRows(rows)) out(line);
    out(rss);
    out(`reference tools: ${references}`);
    return result;
  } finally {
    fs.rmSync(treeDir, { recursive: true, force: true });
    fs.rmSync(qwenDir, { recursive: true, force: true });
  }
}

/** Every scale on one filesystem, then the growth between scales and the SQLite section. */
async function benchPlace(pc: PlaceContext): Promise<void> {
  const { opts, place, base, watch, log, out } = pc;
  const runs = opts.runs ?? DEFAULT_RUNS[place];
  log(`${place}: ${base} (load ${load()})`);
  let listSummary: StepSummary | null = null;
  if (opts.scales.length > 0) {
    const list = listOrFailure(() => benchList(watch, pc.repo, base));
    listSummary = summarise([list]);
    pc.report.lists.push({ place, summary: listSummary, runsMs: 'runs' in list && list.runs ? list.runs : [] });
    await watch.checkpoint();
  }
  const results: ScenarioResult[] = [];
  const ordered = [...opts.scales].sort((a, b) => SCALE_ORDER.indexOf(a) - SCALE_ORDER.indexOf(b));
  for (const scale of ordered) results.push(await benchScale(pc, scale, runs, listSummary));
  for (let i = 1; i < results.length; i++) {
    const growth = growthBetween(results[i - 1]!, results[i]!);
    pc.report.growth.push(growth);
    out('');
    for (const line of renderGrowth(growth)) out(line);
  }
  if (opts.sqlite) {
    const section = await benchSqlite({ watch, tools: pc.tools, repo: pc.repo, base, runs, log, checkpoint: () => watch.checkpoint() });
    const rows = sqliteRows(section);
    pc.report.sqlite.push({ ...section, place, rows });
    out('');
    out(`## SQLite on ${place}: ${(section.dbBytes / 1e6).toFixed(0)} MB WAL database (${section.dbRows} rows), a writer committing every 50 ms; ${runs} run${runs === 1 ? '' : 's'}, medians`);
    for (const line of renderRows(rows)) out(line);
  }
}

async function bench(opts: BenchOptions, repo: string, out: (line: string) => void, log: (line: string) => void): Promise<BenchReport> {
  const watch = new Stopwatch(pathToFileURL(path.join(repo, 'dist', 'bench', 'rss-hook.js')).href);
  const created: string[] = [];
  const onSignal = (signal: NodeJS.Signals): void => watch.interrupt(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const tools = toolVersions();
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-bench-'));
    created.push(scratch);
    const probe = new ClawbackCli(watch, repo, path.join(scratch, 'probe-home'));
    const commands = new Set(OPTIONAL_COMMANDS.filter((c) => hasCommand(probe, c)));
    if (hasVia(probe)) commands.add(VIA_SSH);
    if (opts.noExport) {
      const had = [commands.delete('snapshot-export'), commands.delete('snapshot-import')];
      if (had.some(Boolean)) commands.add(SKIP_EXPORT);
    }
    const help: StepResult[] = [];
    const node: StepResult[] = [];
    // Interleaved, so a change of load hits both alike.
    for (let i = 0; i < HELP_RUNS; i++) {
      node.push(stepResult(watch.run(process.execPath, ['-e', '0'])));
      help.push(stepResult(probe.run(['--help'])));
    }
    const helpSummary = summarise(help);
    const nodeSummary = summarise(node);
    const helpTableRow = helpRow(`clawback --help (median of ${HELP_RUNS})`, helpSummary, nodeSummary);
    const msOf = (runs: StepResult[]): number[] => runs.flatMap((r) => (r.kind === 'timed' ? [r.wallMs] : []));

    const report: BenchReport = {
      schemaVersion: 1,
      startedAt: new Date().toISOString(),
      machine: {
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        gnuTime: watch.gnuTime,
        ...tools,
      },
      commands: [...commands],
      help: { runsMs: msOf(help), summary: helpSummary, node: nodeSummary, nodeRunsMs: msOf(node), row: helpTableRow },
      lists: [],
      results: [],
      growth: [],
      sqlite: [],
      loadavgEnd: [],
    };
    out(`clawback bench — node ${process.version}, ${report.machine.cpus} × ${report.machine.cpuModel}`);
    out(`peak RSS from ${watch.gnuTime ? 'GNU time %M' : 'process.resourceUsage() at exit'}; restic: ${tools.restic ?? 'restic not installed'}; sqlite3: ${tools.sqlite3 ?? 'not installed'}`);
    out(`optional commands in this build: ${[...OPTIONAL_COMMANDS, VIA_SSH].map((c) => `${c.replace('snapshot-', '').replace('via-ssh', 'sandbox add --via')} ${commands.has(c) ? 'yes' : commands.has(SKIP_EXPORT) && /export|import/.test(c) ? 'skipped (--no-export)' : 'n/a'}`).join(', ')}`);
    out(`load average at start: ${load()}`);

    out('');
    for (const line of renderRows([helpTableRow])) out(line);

    for (const place of opts.places) {
      const base = fs.mkdtempSync(path.join(placeParent(place), 'clawback-bench-'));
      created.push(base);
      await benchPlace({ opts, place, base, watch, tools, repo, commands, report, out, log });
    }
    report.loadavgEnd = os.loadavg();
    out('');
    out(`targets are issue 13's / SPEC §9's; RSS ≤ 120 MiB up to large, ≤ 150 MiB on xlarge; wall = whole process incl. node start-up (--help ${formatMs(helpSummary.ms)}); cpu = user + system of the process and its children; page cache warm; load average at end: ${load()}`);
    return report;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
    watch.dispose();
  }
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  if (!fs.existsSync(path.join(repo, 'bin', 'clawback.js'))) throw new Error(`no bin/clawback.js under ${repo}`);
  try {
    const report = await bench(
      opts,
      repo,
      (line) => process.stdout.write(`${line}\n`),
      (line) => process.stderr.write(`${line}\n`),
    );
    if (opts.jsonFile !== undefined) {
      fs.writeFileSync(opts.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`results written to ${opts.jsonFile}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof Interrupted) {
      process.stderr.write(`bench: ${error.message}; temporary trees removed\n`);
      return 130;
    }
    throw error;
  }
}

process.exitCode = await main();
