/**
 * How clawback reaches a sandbox's files (SPEC §11): a `--via` string parsed into a TransportSpec and
 * printed back in one canonical form. Nothing here runs a process.
 */
import { UsageError } from '../errors.js';

export type TransportSpec =
  | { kind: 'local' }
  | { kind: 'ssh'; user?: string; host: string; port?: number }
  | { kind: 'openshell'; name: string; gateway?: string }
  | { kind: 'docker' | 'podman'; container: string }
  | { kind: 'kubectl'; namespace?: string; pod: string; container?: string }
  | { kind: 'exec'; command: string };

export type TransportKind = TransportSpec['kind'];

export const TRANSPORT_FORMS = "local | ssh:[user@]host[:port] | openshell:NAME[@gateway] | docker:CONTAINER | podman:CONTAINER | kubectl:[NAMESPACE/]POD[:CONTAINER] | exec:'COMMAND'";

/** A `--via` value that does not parse: a usage error (exit 2) saying what is wrong. */
export class TransportSpecError extends UsageError {
  constructor(value: string, problem: string) {
    super(`invalid transport ${JSON.stringify(value)}: ${problem}`, { hint: `use ${TRANSPORT_FORMS}` });
  }
}

/** A word passed to ssh/docker/kubectl as an argument: never empty, never an option, no whitespace or control bytes. */
const WORD = /^[A-Za-z0-9_.%+=~][A-Za-z0-9_.%+=~@-]*$/;

function word(value: string, what: string, raw: string): string {
  if (!WORD.test(value)) throw new TransportSpecError(raw, `${what} ${JSON.stringify(value)} must be letters, digits and ._-~%+= (not starting with -)`);
  return value;
}

function parseSsh(rest: string, raw: string): TransportSpec {
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? word(rest.slice(0, at), 'user', raw) : undefined;
  let hostPort = at >= 0 ? rest.slice(at + 1) : rest;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  let host: string;
  if (bracket) {
    host = bracket[1]!;
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) throw new TransportSpecError(raw, `host [${host}] is not an IPv6 address`);
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon >= 0) {
      const digits = hostPort.slice(colon + 1);
      if (!/^\d+$/.test(digits)) throw new TransportSpecError(raw, `port ${JSON.stringify(digits)} is not a number`);
      port = Number(digits);
      hostPort = hostPort.slice(0, colon);
    }
    host = word(hostPort, 'host', raw);
  }
  if (port !== undefined && (port < 1 || port > 65535)) throw new TransportSpecError(raw, `port ${port} is out of range (1–65535)`);
  return { kind: 'ssh', host, ...(user !== undefined ? { user } : {}), ...(port !== undefined ? { port } : {}) };
}

function parseKubectl(rest: string, raw: string): TransportSpec {
  const slash = rest.indexOf('/');
  const namespace = slash >= 0 ? word(rest.slice(0, slash), 'namespace', raw) : undefined;
  const podPart = slash >= 0 ? rest.slice(slash + 1) : rest;
  const colon = podPart.indexOf(':');
  const pod = word(colon >= 0 ? podPart.slice(0, colon) : podPart, 'pod', raw);
  const container = colon >= 0 ? word(podPart.slice(colon + 1), 'container', raw) : undefined;
  return { kind: 'kubectl', pod, ...(namespace !== undefined ? { namespace } : {}), ...(container !== undefined ? { container } : {}) };
}

/** Parses a `--via` value (SPEC §11). Throws TransportSpecError saying what is wrong. */
export function parseTransportSpec(raw: string): TransportSpec {
  if (raw === '' || raw === 'local') return { kind: 'local' };
  const colon = raw.indexOf(':');
  if (colon < 0) throw new TransportSpecError(raw, `expected one of ${TRANSPORT_FORMS}`);
  const kind = raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  if (rest === '') throw new TransportSpecError(raw, `nothing after "${kind}:"`);
  switch (kind) {
    case 'ssh':
      return parseSsh(rest, raw);
    case 'openshell': {
      const at = rest.indexOf('@');
      const name = word(at >= 0 ? rest.slice(0, at) : rest, 'sandbox name', raw);
      const gateway = at >= 0 ? word(rest.slice(at + 1), 'gateway', raw) : undefined;
      return { kind: 'openshell', name, ...(gateway !== undefined ? { gateway } : {}) };
    }
    case 'docker':
    case 'podman':
      return { kind, container: word(rest, 'container', raw) };
    case 'kubectl':
      return parseKubectl(rest, raw);
    case 'exec':
      if (rest.trim() === '') throw new TransportSpecError(raw, 'the command is empty');
      if (/[\0\n]/.test(rest)) throw new TransportSpecError(raw, 'the command holds a NUL or newline');
      return { kind: 'exec', command: rest };
    default:
      throw new TransportSpecError(raw, `unknown kind "${kind}": expected one of ${TRANSPORT_FORMS}`);
  }
}

/** The canonical `--via` text of a spec (what the registry stores and messages print). */
export function formatTransportSpec(spec: TransportSpec): string {
  switch (spec.kind) {
    case 'local':
      return 'local';
    case 'ssh': {
      const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
      return `ssh:${spec.user !== undefined ? `${spec.user}@` : ''}${host}${spec.port !== undefined ? `:${spec.port}` : ''}`;
    }
    case 'openshell':
      return `openshell:${spec.name}${spec.gateway !== undefined ? `@${spec.gateway}` : ''}`;
    case 'docker':
    case 'podman':
      return `${spec.kind}:${spec.container}`;
    case 'kubectl':
      return `kubectl:${spec.namespace !== undefined ? `${spec.namespace}/` : ''}${spec.pod}${spec.container !== undefined ? `:${spec.container}` : ''}`;
    case 'exec':
      return `exec:${spec.command}`;
  }
}

export function isRemote(spec: TransportSpec): boolean {
  return spec.kind !== 'local';
}
