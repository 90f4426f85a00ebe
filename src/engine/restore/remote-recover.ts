import fs from 'node:fs';
import { lockHost } from '../sandbox/lock.js';
import { withSandboxTransport } from '../sandbox/transport.js';
import { bundleTimestamp } from '../../store/home.js';
import { applyRegistryChange, finishRollBack, journalPath, readJournal, removeJournal, type JournalRecovery } from '../../store/journal.js';
import type { EngineDeps } from '../deps.js';
import { rollBackRemote, rollForwardRemote } from './remote-swap.js';

/**
 * Finishes (committed) or undoes (before the commit point) a sandbox's interrupted remote restore,
 * through the transport its journal names; the caller holds the sandbox's lock. Undefined when the
 * sandbox has no journal or a local one. A target that cannot be reached is an UnreachableError
 * (exit 8), and the journal stays for a later command.
 */
export async function recoverRemoteJournal(deps: EngineDeps, sandbox: string): Promise<JournalRecovery | undefined> {
  const file = journalPath(deps.layout, sandbox);
  if (!fs.existsSync(file)) return undefined;
  const record = readJournal(file);
  const via = record.via;
  if (via === undefined) return undefined;
  return withSandboxTransport({ via, name: sandbox }, deps, async (shell) => {
    if (record.state === 'committed') {
      applyRegistryChange(deps.layout, lockHost(deps), record.sandbox, record.registry);
      await rollForwardRemote(shell, record);
      removeJournal(deps.layout, record.sandbox);
      return { sandbox, action: 'rolled-forward', journal: file, warnings: [] };
    }
    const warnings = await rollBackRemote(shell, record, bundleTimestamp(deps.now()));
    finishRollBack(deps.layout, lockHost(deps), record);
    return { sandbox, action: 'rolled-back', journal: file, warnings };
  });
}
