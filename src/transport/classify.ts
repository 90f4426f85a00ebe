import { UnreachableError, type UnreachableCode } from '../errors.js';
import type { TransportSpec } from './spec.js';

/** How a host-side process that carried a remote command ended. */
export interface Outcome {
  code: number;
  stderr: string;
  /** The host program itself could not be started (ENOENT: not installed here). */
  notStarted?: string;
}

export interface FailureContext {
  spec: TransportSpec;
  label: string;
  sandbox: string | undefined;
  /** What was being run, as the user would recognise it (`tar -cf - -- …`, `ssh-config NAME`). */
  command: string;
}

function firstLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^Warning: Permanently added/.test(l));
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

function classifySsh(outcome: Outcome): [UnreachableCode, string, string] | undefined {
  if (outcome.code !== 255) return undefined;
  const why = firstLine(outcome.stderr);
  if (/Permission denied|Too many authentication failures|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(outcome.stderr)) {
    return ['transport-auth', `authentication refused (${why})`, 'check the user, key and known host: `ssh HOST true` must log in without a prompt (clawback runs ssh with BatchMode=yes)'];
  }
  return ['transport-unreachable', `cannot connect (${why || 'ssh exited 255'})`, 'check the host, port and network, and that sshd runs there; try `ssh HOST true`'];
}

function classifyContainer(spec: TransportSpec, outcome: Outcome): [UnreachableCode, string, string] | undefined {
  const why = firstLine(outcome.stderr);
  if (spec.kind === 'docker' || spec.kind === 'podman') {
    if (/is not running|No such container|no container with name or ID|container state improper|is paused|is restarting/i.test(outcome.stderr)) {
      return ['transport-not-running', `container not running (${why})`, `start it (\`${spec.kind} start ${spec.container}\`), or give backup-all --start-stopped`];
    }
    if (/Cannot connect to the Docker daemon|permission denied while trying to connect|cannot connect to Podman/i.test(outcome.stderr)) {
      return ['transport-unreachable', `cannot reach the ${spec.kind} daemon (${why})`, `check that ${spec.kind} runs and that you may use it (\`${spec.kind} ps\`)`];
    }
  }
  if (spec.kind === 'kubectl') {
    if (/NotFound|not found|container not found|is not valid for pod|ContainerCreating|not running/i.test(outcome.stderr) && !/: not found$/m.test(outcome.stderr)) {
      return ['transport-not-running', `pod or container not running (${why})`, 'check `kubectl get pods` and the [namespace/]pod[:container] of --via'];
    }
    if (/Unable to connect|connection refused|dial tcp|Unauthorized|forbidden/i.test(outcome.stderr)) {
      return ['transport-unreachable', `cannot reach the cluster (${why})`, 'check `kubectl cluster-info` and your kubeconfig'];
    }
  }
  return undefined;
}

/** A tool missing in the target: `sh: tar: not found`, `sh: 1: python3: not found`, `tar: command not found`. */
function missingTool(outcome: Outcome): string | undefined {
  if (outcome.code !== 127) return undefined;
  const match = /(?:^|\n)(?:[^\n:]*sh: (?:\d+: |line \d+: )?)?([A-Za-z0-9_.+-]+): (?:command )?not found/.exec(outcome.stderr);
  return match?.[1] ?? 'a command';
}

/**
 * The error for a remote command that did not succeed: whether the target could not be reached
 * (exit 8 with a reason and a hint) or the command failed in it. Always one line.
 */
export function remoteFailure(context: FailureContext, outcome: Outcome): UnreachableError {
  const where = `${context.sandbox !== undefined ? `sandbox ${context.sandbox} ` : ''}via ${context.label}`;
  const make = (code: UnreachableCode, what: string, hint: string): UnreachableError =>
    new UnreachableError(code, `${where}: ${what} (running \`${context.command}\`)`, context.label, context.command, { hint });
  if (outcome.notStarted !== undefined) {
    return make('transport-missing-tool', `${outcome.notStarted} is not installed on this host`, `install ${outcome.notStarted} or put it on PATH`);
  }
  const ssh = context.spec.kind === 'ssh' || context.spec.kind === 'openshell' ? classifySsh(outcome) : undefined;
  const classified = ssh ?? classifyContainer(context.spec, outcome);
  if (classified) return make(...classified);
  const tool = missingTool(outcome);
  if (tool !== undefined) {
    return make('transport-missing-tool', `${tool} is missing in the target`, `install it there; \`clawback sandbox check${context.sandbox !== undefined ? ` ${context.sandbox}` : ''}\` lists what clawback needs and finds`);
  }
  const why = firstLine(outcome.stderr);
  return make('transport-failed', `remote command failed (exit ${outcome.code}${why ? `: ${why}` : ''})`, 'check the target: its disk, permissions and that the sandbox root exists; run the command again');
}
