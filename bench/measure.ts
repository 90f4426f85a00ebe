import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Timing {
  wallMs: number;
  /** Peak resident set of the process, KiB; null when it could not be read. */
  rssKiB: number | null;
  /** User + system CPU of the process and the children it waited for; null when unknown. */
  cpuMs: number | null;
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The command is a script that starts node (bin/clawback.js): without GNU time, the usage hook goes in through NODE_OPTIONS. */
  nodeLauncher?: boolean;
}

export class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
  }
}

const GNU_TIME = '/usr/bin/time';
const HOUR_MS = 3_600_000;

/**
 * Runs commands and times them by the wall clock around spawnSync (sub-millisecond,
 * where GNU time's %e has 10 ms steps); peak RSS comes from GNU time's %M when it
 * is installed, else from a preloaded hook that node children run at exit; CPU time
 * comes the same way, and is what to compare when other work loads the machine.
 */
export class Stopwatch {
  readonly gnuTime: boolean;
  private readonly scratch: string;
  private interrupted: string | undefined;

  constructor(private readonly rssHook: string) {
    const probe = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' });
    this.gnuTime = probe.status === 0 && /^\d+\s*$/m.test(probe.stderr);
    this.scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-bench-rss-'));
  }

  /** Called from the signal handlers so the next checkpoint stops the run. */
  interrupt(signal: string): void {
    this.interrupted = signal;
  }

  /** Lets pending signal handlers run, then stops the bench if one fired. */
  async checkpoint(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.interrupted !== undefined) throw new Interrupted(this.interrupted);
  }

  run(command: string, args: string[], opts: RunOptions = {}): Timing {
    const rssFile = path.join(this.scratch, 'rss');
    fs.rmSync(rssFile, { force: true });
    let file = command;
    let argv = args;
    let env = opts.env ?? process.env;
    if (this.gnuTime) {
      file = GNU_TIME;
      argv = ['-f', '%M %U %S', '-o', rssFile, command, ...args];
    } else if (command === process.execPath) {
      argv = ['--import', this.rssHook, ...args];
      env = { ...env, CLAWBACK_BENCH_RSS_FILE: rssFile };
    } else if (opts.nodeLauncher === true) {
      env = { ...env, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import ${this.rssHook}`.trim(), CLAWBACK_BENCH_RSS_FILE: rssFile };
    }
    const start = process.hrtime.bigint();
    const result = spawnSync(file, argv, {
      cwd: opts.cwd,
      env,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      timeout: HOUR_MS,
    });
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.error) throw result.error;
    if (result.signal === 'SIGINT' || result.signal === 'SIGTERM') throw new Interrupted(result.signal);
    return { wallMs, ...readUsage(rssFile), status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** Runs a shell snippet; paths go in as "$1", "$2", ... so nothing needs quoting. */
  shell(script: string, params: string[], opts: RunOptions = {}): Timing {
    return this.run('/bin/sh', ['-c', script, 'sh', ...params], opts);
  }

  dispose(): void {
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** Reads "maxRSS-KiB user-seconds system-seconds", as GNU time and the hook both write it. */
function readUsage(file: string): { rssKiB: number | null; cpuMs: number | null } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { rssKiB: null, cpuMs: null };
  }
  // GNU time writes "Command exited with non-zero status N" above the format line.
  const fields = (text.trim().split('\n').pop() ?? '').trim().split(/\s+/).map(Number);
  const [rss, user, system] = fields;
  const ok = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  return {
    rssKiB: ok(rss) ? rss : null,
    cpuMs: ok(user) && ok(system) ? Math.round((user + system) * 1000) : null,
  };
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Disk use of a tree in KiB, each hard-linked inode counted once (du's rule within one call). */
export function duKiB(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  const result = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  if (result.signal === 'SIGINT' || result.signal === 'SIGTERM') throw new Interrupted(result.signal);
  const kib = Number(result.stdout.split('\t')[0]);
  if (result.status !== 0 || !Number.isFinite(kib)) throw new Error(`du -sk ${dir} failed: ${result.stderr.trim()}`);
  return kib;
}
