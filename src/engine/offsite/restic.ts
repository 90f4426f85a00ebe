import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { ClawbackError, ExitCode, NotFoundError, UsageError } from '../../errors.js';
import type { RepoEntry } from '../../store/repos.js';
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
  private version: [number, number, number] | undefined;

  constructor(readonly access: ResticAccess) {}

  get repo(): RepoEntry {
    return this.access.repo;
  }

  /** The version, checked once: restic missing is exit 4 with the install hint, older than 0.14 is refused. */
  async checkVersion(): Promise<[number, number, number]> {
    if (this.version) return this.version;
    const result = await spawnRestic(['version'], childEnv(this.access, false), {});
    const match = /restic (\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
    if (!match) throw new ClawbackError('restic-unknown', ExitCode.refused, `\`restic version\` printed no version: ${result.stdout.trim() || result.stderr.trim()}`, { hint: INSTALL_HINT });
    const version: [number, number, number] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (version[0] < MIN_VERSION[0] || (version[0] === MIN_VERSION[0] && version[1] < MIN_VERSION[1])) {
      throw new ClawbackError('restic-too-old', ExitCode.refused, `restic ${version.join('.')} is too old: clawback needs restic 0.14 or newer`, { hint: INSTALL_HINT });
    }
    this.version = version;
    return version;
  }

  /** Runs `restic <global options> <args>`; a non-zero exit not in `accept` is thrown as clawback's error for it. */
  async run(args: string[], options: RunOptions): Promise<ResticResult> {
    const version = this.checkVersion();
    if (options.readOnly !== true) await version;
    const globals = this.repo.options.flatMap((o) => ['-o', o]);
    const documents: unknown[] = [];
    const running = (async () =>
      spawnRestic([...globals, ...args], childEnv(this.access, true), {
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
        onLine: (line, stream) => {
          const value = parseJsonLine(line);
          if (value === undefined) return;
          if (stream === 'stdout') documents.push(value);
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) options.onMessage?.(value as ResticMessage);
        },
      }))();
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
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  onSpawn?: () => void;
}

interface Spawned {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns restic with stdin closed; both pipes are read to their end, stderr kept (its last 256 KiB). */
function spawnRestic(args: string[], env: Record<string, string>, options: SpawnOptions): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn('restic', args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    let failed = false;
    child.on('error', (error: NodeJS.ErrnoException) => {
      failed = true;
      if (error.code === 'ENOENT') reject(new NotFoundError('restic-missing', 'restic is not installed (no `restic` on PATH)', { hint: INSTALL_HINT }));
      else reject(error);
    });
    child.on('spawn', () => options.onSpawn?.());
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
    const drained = Promise.all([lines(child.stdout, 'stdout'), lines(child.stderr, 'stderr')]);
    child.on('close', (code, signal) => {
      void drained.then(() => {
        if (failed) return;
        resolve({ code: code ?? (signal === 'SIGINT' ? 130 : 1), stdout, stderr });
      });
    });
  });
}
