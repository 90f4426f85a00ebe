import fs from 'node:fs';
import path from 'node:path';
import { RefusedError, UsageError } from '../../errors.js';
import { getSandbox, readRegistry, validateSandboxName, type SandboxEntry } from '../../store/registry.js';
import type { EngineDeps } from '../deps.js';
import { isRemoteSandbox, withSandboxTransport } from '../sandbox/transport.js';
import { shellQuote } from '../../transport/index.js';

export interface TargetRequest {
  sandbox: string;
  to?: string;
  toRoot?: string;
  force?: boolean;
  dryRun?: boolean;
  noPreRestore?: boolean;
}

/** The sandbox whose state the restore replaces. */
export interface RestoreTarget {
  name: string;
  entry: SandboxEntry;
  /** Set when the restore registers a new sandbox (`--to` an unknown name). */
  create: SandboxEntry | undefined;
}

/** Why a restore needs confirmation (or `--yes`) before it may run: facts the CLI turns into a question. */
export interface Confirmation {
  /** replace-other: `--force` over another sandbox's state; no-pre-restore: nothing would undo the restore. */
  kind: 'replace-other' | 'no-pre-restore';
  /** The sandbox whose state would be replaced. */
  name: string;
  /** Its state root. */
  root: string;
}

/** A directory with something in it (a path that exists and is not a directory counts as occupied). */
export function dirHasEntries(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length > 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') return true;
    throw error;
  }
}

/**
 * Who the restore writes to, and the refusals README "Restore" lists: a registered
 * `--to` sandbox, or an unregistered one whose root is not empty, needs
 * `--force`. Reads only; nothing is registered here.
 */
export function resolveTarget(request: TargetRequest, deps: EngineDeps): RestoreTarget {
  const source = getSandbox(deps.layout, request.sandbox);
  const to = request.to;
  if (to === undefined || to === request.sandbox) {
    if (request.toRoot !== undefined) throw new UsageError('--root only applies with --to <other>');
    return { name: request.sandbox, entry: source, create: undefined };
  }
  validateSandboxName(to);
  const existing = readRegistry(deps.layout).sandboxes[to];
  if (existing) {
    if (request.toRoot !== undefined && path.resolve(request.toRoot) !== existing.root) {
      throw new UsageError(`${to} is registered with root ${existing.root}; --root only applies when --to registers a new sandbox`, {
        hint: `change the root with \`clawback sandbox set ${to} --root DIR\` first`,
      });
    }
    if (!request.force && !request.dryRun) {
      throw new RefusedError('destination-exists', `sandbox ${to} already exists; not restoring over it`, {
        hint: `pass --force to replace ${to}'s state (a pre-restore snapshot of it is taken first)`,
      });
    }
    return { name: to, entry: existing, create: undefined };
  }
  const root = path.resolve(request.toRoot ?? path.join(deps.layout.sandboxesDir, to));
  if (dirHasEntries(root) && !request.force && !request.dryRun) {
    throw new RefusedError('destination-not-empty', `${root} exists and is not empty; not restoring into it`, {
      hint: 'pick an empty or new --root, or pass --force to restore into it',
    });
  }
  const create: SandboxEntry = {
    name: to,
    agent: source.agent,
    root,
    policyPresets: [...source.policyPresets],
    customPolicies: source.customPolicies.map((p) => ({ ...p })),
    hooks: {},
    createdAt: deps.now().toISOString(),
  };
  return { name: to, entry: create, create };
}

/** Whether the sandbox's root holds anything: here, or in its target through its transport. */
export async function rootHasEntries(entry: SandboxEntry, deps: EngineDeps): Promise<boolean> {
  if (!isRemoteSandbox(entry)) return dirHasEntries(entry.root);
  const root = shellQuote(entry.root);
  const out = await withSandboxTransport(entry, deps, (t) => t.run(`if [ -d ${root} ]; then ls -A ${root} | head -n 1; elif [ -e ${root} ] || [ -L ${root} ]; then echo x; fi`, `ls -A ${entry.root}`));
  return out.length > 0;
}

/**
 * The confirmation a restore needs, if any: `--force` over another sandbox's
 * existing state, or `--no-pre-restore` over existing state (no way back).
 */
export async function restoreConfirmation(request: TargetRequest, deps: EngineDeps): Promise<Confirmation | undefined> {
  if (request.dryRun) return undefined;
  const target = resolveTarget(request, deps);
  const asks = (target.name !== request.sandbox && request.force) || request.noPreRestore;
  if (!asks || !(await rootHasEntries(target.entry, deps))) return undefined;
  if (target.name !== request.sandbox && request.force) {
    return { kind: 'replace-other', name: target.name, root: target.entry.root };
  }
  return { kind: 'no-pre-restore', name: target.name, root: target.entry.root };
}
