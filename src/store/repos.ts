import fs from 'node:fs';
import path from 'node:path';
import { NotFoundError, RegistryError, UsageError } from '../errors.js';
import { isRecord } from '../records.js';
import { didYouMean } from '../suggest.js';
import { ensureDir, writeJsonAtomic } from './atomic.js';
import type { HomeLayout } from './home.js';
import { acquireLock, type LockHost } from './lock.js';

/**
 * A restic repository clawback pushes bundles to: where it is, how restic gets its password (a file
 * or a command, never the password itself), and extra restic options (`-o key=value`).
 */
export interface RepoEntry {
  name: string;
  /** restic's repository location: a path, `sftp:host:/dir`, `s3:…`, `rclone:…`. */
  repository: string;
  passwordFile?: string;
  passwordCommand?: string;
  /** restic extended options, passed as `-o key=value` to every restic call. */
  options: string[];
  createdAt: string;
}

export interface RepoRegistry {
  version: 1;
  repos: Record<string, RepoEntry>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `<home>/repos.json`, beside sandboxes.json. */
export function reposFile(layout: HomeLayout): string {
  return path.join(layout.home, 'repos.json');
}

export function validateRepoName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new UsageError(`invalid repository name ${JSON.stringify(name)}`, { hint: 'use 1–63 characters of [A-Za-z0-9._-], starting with a letter or digit' });
  }
}

function parseRepo(name: string, raw: unknown, file: string): RepoEntry {
  if (!isRecord(raw) || typeof raw.repository !== 'string') throw new RegistryError(`${file}: repository ${name} lacks its location`);
  const entry: RepoEntry = {
    name,
    repository: raw.repository,
    options: Array.isArray(raw.options) ? raw.options.filter((o): o is string => typeof o === 'string') : [],
    createdAt: typeof raw.createdAt === 'string' ? raw.createdAt : new Date(0).toISOString(),
  };
  if (typeof raw.passwordFile === 'string') entry.passwordFile = raw.passwordFile;
  if (typeof raw.passwordCommand === 'string') entry.passwordCommand = raw.passwordCommand;
  return entry;
}

export function readRepos(layout: HomeLayout): RepoRegistry {
  const file = reposFile(layout);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, repos: {} };
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RegistryError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(raw) || !isRecord(raw.repos)) throw new RegistryError(`${file}: no "repos" object`);
  const repos: Record<string, RepoEntry> = {};
  for (const [name, entry] of Object.entries(raw.repos)) repos[name] = parseRepo(name, entry, file);
  return { version: 1, repos };
}

export function getRepo(layout: HomeLayout, name: string): RepoEntry {
  const repos = readRepos(layout).repos;
  const entry = repos[name];
  if (!entry) {
    throw new NotFoundError('repo-not-registered', `no repository named ${JSON.stringify(name)}`, {
      hint: `${didYouMean(name, Object.keys(repos))}see \`clawback repo list\`, or register it with \`clawback repo add ${name} <restic-repository>\``,
    });
  }
  return entry;
}

/** Read-modify-write of repos.json under the registry lock, published atomically. */
export function updateRepos<T>(layout: HomeLayout, host: LockHost, change: (registry: RepoRegistry) => T): T {
  ensureDir(layout.home);
  const lock = acquireLock(layout.locks, '_registry', { command: 'registry', waitMs: 10_000, host });
  try {
    const registry = readRepos(layout);
    const result = change(registry);
    writeJsonAtomic(reposFile(layout), registry);
    return result;
  } finally {
    lock.release();
  }
}
