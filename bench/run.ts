import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateHome } from '../fixtures/generate.js';
import { BenchUsageError, DEFAULT_RUNS, parseBenchArgs, USAGE, type BenchOptions, type Place } from './args.js';
import { ClawbackCli, hasCommand, stepResult, type StepResult } from './clawback-cli.js';
import { benchList } from './many-bundles.js';
import { Interrupted, Stopwatch } from './measure.js';
import { toolVersions } from './reference.js';
import { formatMs, HELP_LIMIT_MS, limitRow, referenceLine, renderRows, scenarioRows, summarise, type Row, type StepSummary } from './report.js';
import { runScenario, type QwenPawHomeInfo, type ScenarioContext, type ScenarioResult } from './scenario.js';

const TMPFS_MAGIC = 0x01021994;
const HELP_RUNS = 10;
const OPTIONAL_COMMANDS = ['snapshot-verify', 'snapshot-restore', 'snapshot-export', 'snapshot-import', 'snapshot-push'];

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
  help: { runsMs: number[]; summary: StepSummary; row: Row };
  lists: Array<{ place: Place; summary: StepSummary; runsMs: number[] }>;
  results: Array<ScenarioResult & { rows: Row[]; references: string }>;
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
    const help: StepResult[] = [];
    for (let i = 0; i < HELP_RUNS; i++) help.push(stepResult(probe.run(['--help'])));
    const helpSummary = summarise(help);
    const helpRow = limitRow(`clawback --help (median of ${HELP_RUNS})`, helpSummary, HELP_LIMIT_MS);

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
      help: { runsMs: help.flatMap((r) => (r.kind === 'timed' ? [r.wallMs] : [])), summary: helpSummary, row: helpRow },
      lists: [],
      results: [],
      loadavgEnd: [],
    };
    out(`clawback bench — node ${process.version}, ${report.machine.cpus} × ${report.machine.cpuModel}`);
    out(`peak RSS from ${watch.gnuTime ? 'GNU time %M' : 'process.resourceUsage() at exit'}; restic: ${tools.restic ?? 'restic not installed'}; sqlite3: ${tools.sqlite3 ?? 'not installed'}`);
    out(`optional commands in this build: ${OPTIONAL_COMMANDS.map((c) => `${c.replace('snapshot-', '')} ${commands.has(c) ? 'yes' : 'n/a'}`).join(', ')}`);
    out(`load average at start: ${load()}`);

    out('');
    for (const line of renderRows([helpRow])) out(line);

    for (const place of opts.places) {
      const base = fs.mkdtempSync(path.join(placeParent(place), 'clawback-bench-'));
      created.push(base);
      const runs = opts.runs ?? DEFAULT_RUNS[place];
      log(`${place}: ${base} (load ${load()})`);
      const list = listOrFailure(() => benchList(watch, repo, base));
      const listSummary = summarise([list]);
      report.lists.push({ place, summary: listSummary, runsMs: 'runs' in list && list.runs ? list.runs : [] });
      await watch.checkpoint();

      for (const scale of opts.scales) {
        const treeDir = path.join(base, `home-${scale}`);
        log(`${place}: generating openclaw ${scale} home…`);
        const generated = generateHome({ kind: 'openclaw', scale, dir: treeDir });
        await watch.checkpoint();
        const qwenDir = path.join(base, `qwenpaw-${scale}`);
        let qwenpaw: QwenPawHomeInfo | null = null;
        if (commands.has('snapshot-export')) {
          log(`${place}: generating qwenpaw ${scale} home for the zip export…`);
          qwenpaw = { ...generateHome({ kind: 'qwenpaw', scale, dir: qwenDir }), dir: qwenDir };
          await watch.checkpoint();
        }
        const ctx: ScenarioContext = { watch, tools, repo, commands, log };
        const result = await runScenario(ctx, { scale, place, base, runs, home: generated, qwenpaw });
        fs.rmSync(treeDir, { recursive: true, force: true });
        fs.rmSync(qwenDir, { recursive: true, force: true });
        const rows = scenarioRows(result, listSummary);
        const references = referenceLine(result);
        report.results.push({ ...result, rows, references });
        out('');
        out(
          `## openclaw ${scale} on ${place} (${base}): ${generated.files} files, ${(generated.bytes / 1e6).toFixed(0)} MB` +
            (qwenpaw ? ` (QwenPaw ${scale} for the zip: ${qwenpaw.files} files, ${(qwenpaw.bytes / 1e6).toFixed(0)} MB)` : '') +
            '; ' +
            `${runs} run${runs === 1 ? '' : 's'}, medians; load ${result.loadavg.start.map((l) => l.toFixed(2)).join(' ')} → ${result.loadavg.end.map((l) => l.toFixed(2)).join(' ')}`,
        );
        for (const line of renderRows(rows)) out(line);
        out(`reference tools: ${references}`);
      }
    }
    report.loadavgEnd = os.loadavg();
    out('');
    out(`targets are README "Benchmarks"'s, set for large; wall = whole process incl. node start-up (--help ${formatMs(helpSummary.ms)}); cpu = user + system of the process and its children; page cache warm; load average at end: ${load()}`);
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
