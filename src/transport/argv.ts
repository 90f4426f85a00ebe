import { shellQuote } from './quote.js';
import type { TransportSpec } from './spec.js';

/** What the argv of a remote command depends on besides the spec. */
export interface ArgvOptions {
  /** `-F FILE` for every ssh call (CLAWBACK_SSH_CONFIG, or openshell's temp config). */
  sshConfig?: string;
  /** A control socket of a running ssh master: the command rides on its connection. */
  controlPath?: string;
  /** The Host to connect to instead of the spec's (openshell's block). */
  sshHost?: string;
}

const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=3'];

/** `ssh` options and destination, without the remote command. */
export function sshBase(spec: TransportSpec, options: ArgvOptions): string[] {
  const args = ['-T', ...(options.sshConfig !== undefined ? ['-F', options.sshConfig] : []), ...SSH_OPTIONS];
  if (options.controlPath !== undefined) args.push('-o', 'ControlMaster=no', '-o', `ControlPath=${options.controlPath}`);
  let destination: string;
  if (options.sshHost !== undefined) destination = options.sshHost;
  else if (spec.kind === 'ssh') {
    if (spec.port !== undefined) args.push('-p', String(spec.port));
    destination = `${spec.user !== undefined ? `${spec.user}@` : ''}${spec.host}`;
  } else throw new Error(`sshBase: ${spec.kind} is not an ssh transport`);
  return [...args, '--', destination];
}

/**
 * The host argv that runs `sh -c SCRIPT` in the target with stdin and stdout passed through as
 * bytes. ssh joins its remote arguments with spaces for the remote login shell, so the command is
 * sent as one string in which the script is a single quoted word.
 */
export function remoteArgv(spec: TransportSpec, script: string, options: ArgvOptions = {}): string[] {
  switch (spec.kind) {
    case 'local':
      return ['sh', '-c', script];
    case 'ssh':
    case 'openshell':
      return ['ssh', ...sshBase(spec, options), `sh -c ${shellQuote(script)}`];
    case 'docker':
    case 'podman':
      return [spec.kind, 'exec', '-i', spec.container, 'sh', '-c', script];
    case 'kubectl':
      return [
        'kubectl', 'exec', '-i',
        ...(spec.namespace !== undefined ? ['-n', spec.namespace] : []),
        spec.pod,
        ...(spec.container !== undefined ? ['-c', spec.container] : []),
        '--', 'sh', '-c', script,
      ];
    case 'exec':
      // The user's prefix runs in the host's sh; the script is appended as one last argument.
      return ['sh', '-c', `${spec.command} "$@"`, 'sh', script];
  }
}

/** `openshell sandbox [-g GW] ssh-config NAME`: prints the ssh config block of an OpenShell sandbox. */
export function openshellConfigArgv(spec: Extract<TransportSpec, { kind: 'openshell' }>): string[] {
  return ['openshell', 'sandbox', ...(spec.gateway !== undefined ? ['-g', spec.gateway] : []), 'ssh-config', spec.name];
}

/** The argv that starts a docker/podman container that is stopped, and stops it again. */
export function containerArgv(spec: Extract<TransportSpec, { kind: 'docker' | 'podman' }>, action: 'start' | 'stop' | 'inspect'): string[] {
  if (action === 'inspect') return [spec.kind, 'inspect', '--format', '{{.State.Running}}', spec.container];
  return [spec.kind, action, spec.container];
}

/** A command line for messages: each argument shell-quoted, long ones (scripts) shortened. */
export function displayCommand(argv: readonly string[], max = 160): string {
  const text = argv.map((a) => shellQuote(a.length > 80 ? `${a.slice(0, 77)}...` : a)).join(' ');
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
