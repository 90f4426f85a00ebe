import { UsageError } from '../../errors.js';
import { getRepo, updateRepos, validateRepoName, type RepoEntry } from '../../store/repos.js';
import type { EngineDeps } from '../deps.js';
import { lockHost } from '../sandbox/lock.js';
import type { Restic } from './restic.js';

export interface RepoAddRequest {
  name: string;
  repository: string;
  passwordFile?: string;
  passwordCommand?: string;
  options: string[];
}

/** Registers (or re-registers) a repository: its location (a local one absolute), password source and restic options; never a password. */
export function addRepo(request: RepoAddRequest, deps: EngineDeps): RepoEntry {
  validateRepoName(request.name);
  if (request.repository.trim() === '') throw new UsageError('the repository location is empty', { hint: 'e.g. /srv/restic/agents, sftp:backup@nas:/restic, s3:s3.amazonaws.com/bucket' });
  if (request.passwordFile !== undefined && request.passwordCommand !== undefined) {
    throw new UsageError('give --password-file or --password-command, not both', { hint: 'restic takes one password source' });
  }
  for (const option of request.options) {
    if (!/^[A-Za-z0-9_.-]+=/.test(option)) throw new UsageError(`--option ${JSON.stringify(option)} is not key=value`, { hint: 'e.g. --option sftp.command="ssh -F ~/.ssh/nas-config nas -s sftp"' });
  }
  const entry: RepoEntry = { name: request.name, repository: request.repository, options: request.options, createdAt: deps.now().toISOString() };
  if (request.passwordFile !== undefined) entry.passwordFile = request.passwordFile;
  if (request.passwordCommand !== undefined) entry.passwordCommand = request.passwordCommand;
  return updateRepos(deps.layout, lockHost(deps), (registry) => {
    registry.repos[request.name] = entry;
    return entry;
  });
}

export function removeRepo(name: string, deps: EngineDeps): RepoEntry {
  const entry = getRepo(deps.layout, name);
  updateRepos(deps.layout, lockHost(deps), (registry) => {
    delete registry.repos[name];
  });
  return entry;
}

/** `restic init`: a new, encrypted repository at the entry's location. */
export async function initRepo(restic: Restic): Promise<void> {
  await restic.run(['init'], { what: `init of ${restic.repo.repository}` });
}

export interface RepoCheckSummary {
  repo: string;
  ok: boolean;
  readDataSubset: string | null;
  durationMs: number;
}

/** `restic check` (with `--read-data-subset` when given): damage is exit 6, via outcome.ts. */
export async function checkRepo(restic: Restic, readDataSubset: string | undefined, deps: EngineDeps): Promise<RepoCheckSummary> {
  const started = deps.clock();
  if (readDataSubset !== undefined && !/^(\d+(\.\d+)?%|\d+\/\d+|\d+[KMGT]?)$/.test(readDataSubset)) {
    throw new UsageError(`--read-data-subset ${JSON.stringify(readDataSubset)} is not a subset restic knows`, { hint: 'e.g. 5%, 1/10, or a size such as 500M' });
  }
  await restic.run(['check', ...(readDataSubset !== undefined ? ['--read-data-subset', readDataSubset] : [])], { what: `check of ${restic.repo.name}` });
  return { repo: restic.repo.name, ok: true, readDataSubset: readDataSubset ?? null, durationMs: deps.clock() - started };
}

/**
 * `restic unlock`: removes stale locks (those of a process on this host that is gone, or older than
 * 30 minutes); `removeAll` removes every lock, for a holder restic still believes alive (a killed
 * process left unreaped) or on another host that is known to be down.
 */
export async function unlockRepo(restic: Restic, removeAll: boolean): Promise<void> {
  await restic.run(['unlock', ...(removeAll ? ['--remove-all'] : [])], { what: `unlock of ${restic.repo.name}` });
}
