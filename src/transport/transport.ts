import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { UnreachableError } from '../errors.js';
import { openshellConfigArgv, remoteArgv, sshBase, type ArgvOptions } from './argv.js';
import { remoteFailure, type Outcome } from './classify.js';
import { runProcess, startProcess, type RemoteProcess } from './child.js';
import { formatTransportSpec, type TransportSpec } from './spec.js';
import { startMaster, type SshMaster } from './ssh-master.js';

/** Host facts a transport needs; built by the CLI (never read from the environment here). */
export interface TransportOptions {
  /** The sandbox this transport reaches, for messages. */
  sandbox?: string;
  /** CLAWBACK_SSH_CONFIG: `-F FILE` on every ssh call. */
  sshConfig?: string;
  /** Where private temp dirs (ssh control socket, openshell config) are made. */
  tmpDir: string;
}

export interface ExecResult extends Outcome {
  stdout: Buffer;
}

export interface ExecOptions {
  input?: Buffer | Readable;
  signal?: AbortSignal;
}

/** How clawback runs commands in a sandbox's target (SPEC §11). One per command; close() when done. */
export interface Transport {
  readonly spec: TransportSpec;
  /** The canonical `--via` text, e.g. `ssh:alice@box:2222`. */
  readonly label: string;
  /** Runs `sh -c script` in the target; binary-safe stdin/stdout; both pipes drained. */
  exec(script: string, options?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but a non-zero exit is thrown as an UnreachableError naming `what` (exit 8). */
  run(script: string, what: string, options?: ExecOptions): Promise<Buffer>;
  /** Same, streaming: the caller consumes stdout and/or writes stdin. */
  spawn(script: string): RemoteProcess;
  /** The exit-8 error for a remote command that ended with `outcome`. */
  failure(what: string, outcome: Outcome): UnreachableError;
  close(): Promise<void>;
}

class ProcessTransport implements Transport {
  readonly label: string;
  constructor(
    readonly spec: TransportSpec,
    private readonly options: TransportOptions,
    private readonly argvOptions: ArgvOptions,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.label = formatTransportSpec(spec);
  }

  argv(script: string): string[] {
    return remoteArgv(this.spec, script, this.argvOptions);
  }

  exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    return runProcess(this.argv(script), options.input, options.signal);
  }

  async run(script: string, what: string, options: ExecOptions = {}): Promise<Buffer> {
    const result = await this.exec(script, options);
    if (result.code !== 0) throw this.failure(what, result);
    return result.stdout;
  }

  spawn(script: string): RemoteProcess {
    return startProcess(this.argv(script));
  }

  failure(what: string, outcome: Outcome): UnreachableError {
    return remoteFailure({ spec: this.spec, label: this.label, sandbox: this.options.sandbox, command: what }, outcome);
  }

  close(): Promise<void> {
    return this.cleanup();
  }
}

/** The Host name of the first `Host` line of an ssh config block. */
export function firstHost(config: string): string | undefined {
  const match = /^\s*Host\s+(\S+)/im.exec(config);
  return match?.[1];
}

/**
 * Opens a transport. ssh and openshell connect here, once: one ControlMaster per clawback command
 * (its socket in a private 0700 temp dir) carries every later remote command; openshell's config is
 * fetched with `openshell sandbox ssh-config` and written to a 0600 file in that dir. A target that
 * cannot be reached throws an UnreachableError (exit 8).
 */
export async function openTransport(spec: TransportSpec, options: TransportOptions): Promise<Transport> {
  const noop = async (): Promise<void> => undefined;
  if (spec.kind !== 'ssh' && spec.kind !== 'openshell') return new ProcessTransport(spec, options, {}, noop);
  const dir = fs.mkdtempSync(path.join(options.tmpDir, 'clawback-ssh-'));
  fs.chmodSync(dir, 0o700);
  const label = formatTransportSpec(spec);
  const fail = (what: string, outcome: Outcome): UnreachableError => remoteFailure({ spec, label, sandbox: options.sandbox, command: what }, outcome);
  let master: SshMaster | undefined;
  try {
    const argvOptions: ArgvOptions = options.sshConfig !== undefined ? { sshConfig: options.sshConfig } : {};
    if (spec.kind === 'openshell') {
      const argv = openshellConfigArgv(spec);
      const result = await runProcess(argv);
      if (result.code !== 0) throw fail(argv.join(' '), result);
      const config = result.stdout.toString('utf8');
      const host = firstHost(config);
      if (host === undefined) throw fail(argv.join(' '), { code: 1, stderr: 'printed no "Host" line' });
      const file = path.join(dir, 'ssh_config');
      fs.writeFileSync(file, config, { mode: 0o600 });
      argvOptions.sshConfig = file;
      argvOptions.sshHost = host;
    }
    const controlPath = path.join(dir, 'cm');
    const shown = argvOptions.sshHost ?? (spec.kind === 'ssh' ? `${spec.user !== undefined ? `${spec.user}@` : ''}${spec.host}${spec.port !== undefined ? ` -p ${spec.port}` : ''}` : label);
    master = await startMaster(['ssh', ...sshBase(spec, argvOptions)], controlPath, (outcome) => fail(`ssh ${shown}${argvOptions.sshConfig !== undefined ? ` -F ${argvOptions.sshConfig}` : ''}`, outcome));
    const opened = master;
    return new ProcessTransport(spec, options, { ...argvOptions, controlPath }, async () => {
      await opened.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
  } catch (error) {
    await master?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
