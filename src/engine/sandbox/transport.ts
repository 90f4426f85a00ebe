import path from 'node:path';
import { NotFoundError, UnreachableError } from '../../errors.js';
import type { SandboxEntry } from '../../store/registry.js';
import { containerArgv, displayCommand, openTransport, parseTransportSpec, runProcess, shellQuote, type Transport, type TransportSpec } from '../../transport/index.js';
import { remoteFailure } from '../../transport/classify.js';
import type { EngineDeps } from '../deps.js';

/** The sandbox's transport (SPEC §11); `local` when the entry has no `via`. */
export function sandboxTransportSpec(entry: Pick<SandboxEntry, 'via'>): TransportSpec {
  return parseTransportSpec(entry.via ?? 'local');
}

export function isRemoteSandbox(entry: Pick<SandboxEntry, 'via'>): boolean {
  return entry.via !== undefined && entry.via !== 'local';
}

/** Opens the sandbox's transport with the host settings the CLI passed down; close() it when done. */
export function openSandboxTransport(entry: Pick<SandboxEntry, 'via' | 'name'>, deps: EngineDeps): Promise<Transport> {
  return openTransport(sandboxTransportSpec(entry), {
    sandbox: entry.name,
    tmpDir: deps.host.tmpDir,
    ...(deps.transport?.sshConfig !== undefined ? { sshConfig: deps.transport.sshConfig } : {}),
  });
}

/** Runs `work` with the sandbox's transport open, closing it whatever happens. */
export async function withSandboxTransport<T>(entry: Pick<SandboxEntry, 'via' | 'name'>, deps: EngineDeps, work: (transport: Transport) => Promise<T>): Promise<T> {
  const transport = await openSandboxTransport(entry, deps);
  try {
    return await work(transport);
  } finally {
    await transport.close();
  }
}

/** The prefix of every temp file clawback makes in a target: `.clawback-tmp-`. */
export const REMOTE_TEMP_PREFIX = '.clawback-tmp-';

function hostTag(deps: EngineDeps): string {
  return deps.host.hostname.replace(/[^A-Za-z0-9.]/g, '_').slice(0, 40);
}

/**
 * A temp path in the target beside the root (the same filesystem as the state, and never inside
 * it): `<dir of root>/.clawback-tmp-<host>-<pid>-<what>`. The next command sweeps those whose
 * process is gone (sweepRemoteTemps).
 */
export function remoteTempPath(root: string, deps: EngineDeps, what: string): string {
  return path.posix.join(path.posix.dirname(root), `${REMOTE_TEMP_PREFIX}${hostTag(deps)}-${deps.host.pid}-${what}`);
}

/**
 * Removes this host's temp files beside `root` whose clawback process is gone (a dropped
 * connection's leftovers). `names` are the `.clawback-tmp-…` names there, when a listing already
 * read them; otherwise they are listed first.
 */
export async function sweepRemoteTemps(transport: Transport, root: string, deps: EngineDeps, names?: readonly string[]): Promise<string[]> {
  const dir = path.posix.dirname(root);
  const prefix = `${REMOTE_TEMP_PREFIX}${hostTag(deps)}-`;
  const listed = names ?? (await transport.run(`cd ${shellQuote(dir)} 2>/dev/null || exit 0; for f in ${REMOTE_TEMP_PREFIX}*; do [ -e "$f" ] && printf '%s\\0' "$f"; done; exit 0`, `ls ${dir}/${REMOTE_TEMP_PREFIX}*`))
    .toString('utf8')
    .split('\0');
  const stale = [...listed].filter((name) => {
    if (!name.startsWith(prefix)) return false;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    return Number.isInteger(pid) && pid !== deps.host.pid && !deps.host.isAlive(pid);
  });
  if (stale.length > 0) await transport.run(`cd ${shellQuote(dir)} && rm -rf -- ${stale.map(shellQuote).join(' ')}`, `rm -rf ${dir}/${prefix}…`);
  return stale;
}

/** The state root does not exist in the target. */
export function remoteRootMissing(entry: Pick<SandboxEntry, 'name' | 'root' | 'via'>): NotFoundError {
  return new NotFoundError('root-not-found', `state root ${entry.root} of ${entry.name} does not exist in ${entry.via}`, {
    hint: `check the path inside the target, or fix it with \`clawback sandbox set ${entry.name} --root DIR\``,
  });
}

/**
 * Whether a remote sandbox runs, for backup-all without a `running` hook: a docker/podman container
 * is asked (`inspect`), any other target is reached and its root looked for. A target that says it
 * is not running (a stopped container, a missing pod) is false; one that cannot be reached at all
 * is an error (exit 8), never a silent skip.
 */
export async function remoteRunning(entry: Pick<SandboxEntry, 'via' | 'name' | 'root'>, deps: EngineDeps): Promise<boolean> {
  const spec = sandboxTransportSpec(entry);
  if (spec.kind === 'docker' || spec.kind === 'podman') {
    const argv = containerArgv(spec, 'inspect');
    const result = await runProcess(argv);
    if (result.code === 0) return result.stdout.toString().trim() === 'true';
    const error = remoteFailure({ spec, label: entry.via ?? 'local', sandbox: entry.name, command: displayCommand(argv) }, result);
    if (error.code === 'transport-not-running' || /No such (object|container)|no such container/i.test(result.stderr)) return false;
    throw error;
  }
  try {
    return await withSandboxTransport(entry, deps, async (transport) => (await transport.exec(`[ -d ${shellQuote(entry.root)} ]`)).code === 0);
  } catch (error) {
    if (error instanceof UnreachableError && error.code === 'transport-not-running') return false;
    throw error;
  }
}

/** Starts (or stops again) the stopped docker/podman container of a sandbox: backup-all --start-stopped. Other transports cannot be started: false. */
export async function startStopContainer(entry: Pick<SandboxEntry, 'via' | 'name'>, action: 'start' | 'stop'): Promise<boolean> {
  const spec = sandboxTransportSpec(entry);
  if (spec.kind !== 'docker' && spec.kind !== 'podman') return false;
  const argv = containerArgv(spec, action);
  const result = await runProcess(argv);
  if (result.code !== 0) throw remoteFailure({ spec, label: entry.via ?? 'local', sandbox: entry.name, command: displayCommand(argv) }, result);
  return true;
}
