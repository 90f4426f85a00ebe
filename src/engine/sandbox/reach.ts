import { openTransport, parseTransportSpec, type Transport } from '../../transport/index.js';
import type { EngineDeps } from '../deps.js';

/** Whether a sandbox's files are reached through a transport (its `via` is set and not `local`). */
export function isRemoteVia(via: string | undefined): via is string {
  return via !== undefined && parseTransportSpec(via).kind !== 'local';
}

/** Opens the transport `via` names for `sandbox`, with the host facts the CLI gave (CLAWBACK_SSH_CONFIG, temp dir). */
export function openVia(via: string, sandbox: string, deps: EngineDeps): Promise<Transport> {
  return openTransport(parseTransportSpec(via), {
    sandbox,
    tmpDir: deps.host.tmpDir,
    ...(deps.transport?.sshConfig !== undefined ? { sshConfig: deps.transport.sshConfig } : {}),
  });
}

/** Runs `work` with the sandbox's transport open, and closes it (its ssh master, its temp files) whatever happens. */
export async function withVia<T>(via: string, sandbox: string, deps: EngineDeps, work: (transport: Transport) => Promise<T>): Promise<T> {
  const transport = await openVia(via, sandbox, deps);
  try {
    return await work(transport);
  } finally {
    await transport.close();
  }
}
