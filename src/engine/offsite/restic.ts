import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { ClawbackError, ExitCode, NotFoundError, UsageError } from '../../errors.js';
import type { RepoEntry } from '../../store/repos.js';
import { GATE_FILE, GATE_OPEN, GATE_SCRIPT, GATE_SHUT } from './gate.js';
import { resticFailure } from './outcome.js';

/** How clawback reaches one repository: its registry entry and the caller's environment (PATH, HOME, RESTIC_PASSWORD*, ssh agent). */
export interface ResticAccess {
  repo: RepoEntry;
  /** The CLI's environment, read once there; the engine only passes it on to restic. */
  env: Readonly<Record<string, string | undefined>>;
}

/** One JSON object restic printed (stdout, or stderr for `error`/`exit_error`). */
export type ResticMessage = Record<string, unknown>;

export interface ResticResult {
  code: number;
  /** Every JSON value printed on stdout, in order (objects and arrays). */
  documents: unknown[];
  /** stderr, as text (the JSON lines among it too). */
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Each JSON object as it arrives, stdout and stderr alike. */
  onMessage?: (message: ResticMessage) => void;
  /** Called once the process runs (its pid known): a fault point for tests. */
  onSpawn?: () => void;
  /** restic exit codes that are no failure for this call (e.g. 3 when the caller reports partial itself). */
  accept?: number[];
  /** What the call does, for messages: `backup of 2026-…`. */
  what: string;
  /** A call that changes nothing (a listing): it starts while the version is checked, and its outcome counts once that passed. */
  readOnly?: boolean;
}

/**
 * A `restic backup` held before it reads anything. Its `--exclude-file` is a pipe from clawback
 * (gate.ts), and restic reads its exclude files after it has opened the repository (the KDF done)
 * and before it reads any file of the backup (the archiver needs the rules first). The pipe carries
 * `*` at once (exclude everything) and `!*` (take it all back) when the gate opens, then ends. So:
 *  - until `open()`, restic has read no byte of the backup, whatever restic version reads the file
 *    when: it cannot read a file before it has the rules (only the time saved depends on the order);
 *  - if clawback dies after restic opened the gate file, the pipe ends after `*`: restic excludes
 *    everything and fails ("snapshot is empty"), so no snapshot of an unchecked bundle is written;
 *  - `cancel()` shuts the gate the same way and waits for restic to exit: it fails having read
 *    nothing, and removes its lock as on any failure. (Not SIGINT: one that reaches restic 0.14
 *    while it writes its lock leaves the lock behind.)
 */
export interface GatedRun {
  /** restic's outcome, as `run` gives it (a failure is thrown as clawback's error for it). */
  readonly done: Promise<ResticResult>;
  /** Lets restic read the backup (once the version check passed). */
  open(): void;
  /** Shuts the gate of a restic still held and resolves once restic has exited, its outcome dropped. */
  cancel(): Promise<void>;
}

const MIN_VERSION: readonly [number, number] = [0, 14];
const STDERR_KEEP = 256 * 1024;

/** The restic install hint: one line, the same everywhere. */
export const INSTALL_HINT = 'install restic (Debian/Ubuntu: `apt install restic`; or the release binary from https://github.com/restic/restic/releases) and make sure it is on PATH';

/**
 * Runs restic for one repository. The password reaches restic only through its own environment
 * variables (RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND, RESTIC_PASSWORD), never argv; stdout is
 * read line by line as JSON and stderr drained whole, so neither pipe can fill and stall restic.
 * The version is checked once per instance, before the first real call.
 */
export class Restic {
  private versionCheck: Promise<[number, number, number]> | undefined;

  constructor(readonly access: ResticAccess) {}

  get repo(): RepoEntry {
    return this.access.repo;
  }

  /** The version, checked once: restic missing is exit 4 with the install hint, older than 0.14 is refused. */
  checkVersion(): Promise<[number, number, number]> {
    // One `restic version` for every call of this instance, those that start side by side too.
    this.versionCheck ??= this.readVersion();
    return this.versionCheck;
  }

  private async readVersion(): Promise<[number, number, number]> {
    const result = await spawnRestic(['version'], childEnv(this.access, false), {});
    const match = /restic (\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
    if (!match) throw new ClawbackError('restic-unknown', ExitCode.refused, `\`restic version\` printed no version: ${result.stdout.trim() || result.stderr.trim()}`, { hint: INSTALL_HINT });
    const version: [number, number, number] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (version[0] < MIN_VERSION[0] || (version[0] === MIN_VERSION[0] && version[1] < MIN_VERSION[1])) {
      throw new ClawbackError('restic-too-old', ExitCode.refused, `restic ${version.join('.')} is too old: clawback needs restic 0.14 or newer`, { hint: INSTALL_HINT });
    }
    return version;
  }

  /** Runs `restic <global options> <args>`; a non-zero exit not in `accept` is thrown as clawback's error for it. */
  async run(args: string[], options: RunOptions): Promise<ResticResult> {
    return this.start(args, options);
  }

  /**
   * Starts `restic backup` held at a gate (see GatedRun): restic opens the repository (its key's
   * KDF, the costly part of its start) and then waits, before it reads a byte of the backup, until
   * `open()`. It starts while the version is checked; the gate opens only once that passed.
   * Undefined where no gate can be made: the caller starts restic when it may read.
   */
  startGated(args: string[], options: RunOptions): GatedRun {
    if (args[0] !== 'backup') throw new Error('only restic backup can be gated');
    let version: Promise<unknown> | undefined;
    let child: ChildProcess | undefined;
    let state: 'held' | 'open' | 'shut' = 'held';
    const gate = (): NodeJS.WritableStream | undefined => (child?.stdio[3] as NodeJS.WritableStream | null | undefined) ?? undefined;
    const shut = (): void => {
      if (state !== 'held') return;
      state = 'shut';
      gate()?.end();
    };
    const open = (): void => {
      state = 'open';
      void (version ?? this.checkVersion()).then(
        () => gate()?.end(GATE_OPEN),
        () => gate()?.end(),
      );
    };
    const done = this.start([args[0], '--exclude-file', GATE_FILE, ...args.slice(1)], { ...options, readOnly: true }, true, (c) => {
      child = c;
      gate()?.on('error', () => undefined);
      gate()?.write(GATE_SHUT);
      if (state === 'held') this.held.set(c, shut);
      else if (state === 'open') open();
      else gate()?.end();
    });
    // After the spawn, so that restic starts first (start() spawns a held run before `restic version`).
    version = this.checkVersion();
    // A failed check is reported by the call that awaits it (this run's own outcome among them).
    version.catch(() => undefined);
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    return {
      done,
      open: () => {
        if (state !== 'held') return;
        if (child !== undefined) this.held.delete(child);
        // Not yet spawned: the spawn handler opens it.
        if (child === undefined) state = 'open';
        else open();
      },
      cancel: async () => {
        shut();
        await settled;
      },
    };
  }

  /**
   * Ctrl-C: every restic this instance runs gets SIGINT (restic removes its lock and exits 130),
   * except one held at a gate: its gate is shut instead, so that it fails having read nothing. A
   * SIGINT could reach it while it writes its lock, which restic 0.14 then leaves behind.
   */
  cancelOn(signal: AbortSignal | undefined): void {
    signal?.addEventListener('abort', () => {
      for (const child of this.live) (this.held.get(child) ?? (() => child.kill('SIGINT')))();
    });
  }

  /** The gated runs still held, with what shuts each gate. */
  private readonly held = new Map<ChildProcess, () => void>();
  private readonly live = new Set<ChildProcess>();

  private async start(args: string[], options: RunOptions, gated = false, onChild?: (child: ChildProcess) => void): Promise<ResticResult> {
    if (options.readOnly !== true) await this.checkVersion();
    const globals = this.repo.options.flatMap((o) => ['-o', o]);
    const documents: unknown[] = [];
    const running = (async () =>
      spawnRestic([...globals, ...args], childEnv(this.access, true), {
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
        gated,
        onChild: (child) => {
          this.live.add(child);
          child.on('close', () => {
            this.live.delete(child);
            this.held.delete(child);
          });
          onChild?.(child);
        },
        onLine: (line, stream) => {
          const value = parseJsonLine(line);
          if (value === undefined) return;
          if (stream === 'stdout') documents.push(value);
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) options.onMessage?.(value as ResticMessage);
        },
      }))();
    // Asked after the spawn above: a call that may start before the version is known starts first.
    const version = this.checkVersion();
    // restic missing or too old is the failure to report, before anything the call itself met.
    const [checked, ran] = await Promise.allSettled([version, running]);
    if (checked.status === 'rejected') throw checked.reason;
    if (ran.status === 'rejected') throw ran.reason;
    const result = ran.value;
    if (result.code !== 0 && !(options.accept ?? []).includes(result.code)) throw resticFailure(result.code, result.stderr, this.repo, options.what);
    return { code: result.code, documents, stderr: result.stderr };
  }
}

function parseJsonLine(line: string): unknown {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * restic's environment: the caller's, with the repository and the stored password source laid over
 * it (a stored file or command wins over the environment's, and only one source is passed, since
 * restic refuses a file and a command together). TZ=UTC makes `--time` and snapshot times UTC.
 */
export function childEnv(access: ResticAccess, needPassword: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(access.env)) if (value !== undefined) env[key] = value;
  const repo = access.repo;
  delete env.RESTIC_REPOSITORY_FILE;
  env.RESTIC_REPOSITORY = repo.repository;
  env.TZ = 'UTC';
  if (repo.passwordFile !== undefined || repo.passwordCommand !== undefined) {
    delete env.RESTIC_PASSWORD_FILE;
    delete env.RESTIC_PASSWORD_COMMAND;
    delete env.RESTIC_PASSWORD;
    if (repo.passwordFile !== undefined) env.RESTIC_PASSWORD_FILE = repo.passwordFile;
    else env.RESTIC_PASSWORD_COMMAND = repo.passwordCommand!;
  } else if (env.RESTIC_PASSWORD_FILE && env.RESTIC_PASSWORD_COMMAND) {
    // The same rule as for flags: restic refuses both, the file wins.
    delete env.RESTIC_PASSWORD_COMMAND;
  }
  if (needPassword && !env.RESTIC_PASSWORD_FILE && !env.RESTIC_PASSWORD_COMMAND && !env.RESTIC_PASSWORD) {
    throw new UsageError(`no password source for repository ${repo.name}`, {
      hint: `set RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND, or store one: \`clawback repo add ${repo.name} ${repo.repository} --password-file FILE\` (clawback never stores the password itself)`,
    });
  }
  return env;
}

interface SpawnOptions {
  cwd?: string;
  /** Run behind a gate (GatedRun, gate.ts): through the shell that gives restic a pipe as fd 3. */
  gated?: boolean;
  onChild?: (child: ChildProcess) => void;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  onSpawn?: () => void;
}

interface Spawned {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns restic with stdin closed (and fd 3 a pipe when gated); both pipes are read to their end, stderr kept (its last 256 KiB). */
function spawnRestic(args: string[], env: Record<string, string>, options: SpawnOptions): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const where = options.cwd !== undefined ? { cwd: options.cwd } : {};
    const child =
      options.gated === true
        ? spawn('/bin/sh', ['-c', GATE_SCRIPT, 'restic', ...args], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], ...where })
        : spawn('restic', args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...where });
    let stdout = '';
    let stderr = '';
    let failed = false;
    child.on('error', (error: NodeJS.ErrnoException) => {
      failed = true;
      if (error.code === 'ENOENT') reject(new NotFoundError('restic-missing', 'restic is not installed (no `restic` on PATH)', { hint: INSTALL_HINT }));
      else reject(error);
    });
    child.on('spawn', () => {
      options.onChild?.(child);
      options.onSpawn?.();
    });
    const lines = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr'): Promise<void> =>
      new Promise((done) => {
        const reader = readline.createInterface({ input: stream, crlfDelay: Infinity });
        reader.on('line', (line) => {
          if (name === 'stdout') {
            if (stdout.length < STDERR_KEEP) stdout += line + '\n';
          } else {
            stderr = (stderr + line + '\n').slice(-STDERR_KEEP);
          }
          options.onLine?.(line, name);
        });
        reader.on('close', () => done());
      });
    const drained = Promise.all([lines(child.stdout!, 'stdout'), lines(child.stderr!, 'stderr')]);
    child.on('close', (code, signal) => {
      void drained.then(() => {
        if (failed) return;
        resolve({ code: code ?? (signal === 'SIGINT' ? 130 : 1), stdout, stderr });
      });
    });
  });
}
