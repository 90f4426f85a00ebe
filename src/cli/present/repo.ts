import type { RepoCheckSummary } from '../../engine/offsite/repo.js';
import type { RepoEntry } from '../../store/repos.js';
import type { JsonDocument } from './document.js';
import { formatDurationMs } from './format.js';
import { renderTable } from './table.js';
import type { TextView } from './terminal-text.js';

/** A repository as documents show it: where it is and how restic gets the password (never the password). */
export interface RepoJson {
  name: string;
  repository: string;
  passwordFile: string | null;
  passwordCommand: string | null;
  options: string[];
  createdAt: string;
}

export interface RepoDocument extends JsonDocument {
  repo: RepoJson;
}

export interface RepoListDocument extends JsonDocument {
  repos: RepoJson[];
}

export interface RepoInitDocument extends JsonDocument {
  repo: RepoJson;
  initialized: boolean;
}

export interface RepoCheckDocument extends JsonDocument {
  repo: string;
  ok: boolean;
  readDataSubset: string | null;
  durationMs: number;
}

export function repoJson(entry: RepoEntry): RepoJson {
  return {
    name: entry.name,
    repository: entry.repository,
    passwordFile: entry.passwordFile ?? null,
    passwordCommand: entry.passwordCommand ?? null,
    options: [...entry.options],
    createdAt: entry.createdAt,
  };
}

export const json = (entry: RepoEntry): RepoDocument => ({ schemaVersion: 1, repo: repoJson(entry) });
export const removedJson = (entry: RepoEntry): RepoDocument => ({ schemaVersion: 1, repo: repoJson(entry) });
export const listJson = (entries: RepoEntry[]): RepoListDocument => ({ schemaVersion: 1, repos: entries.map(repoJson) });
export const initJson = (entry: RepoEntry): RepoInitDocument => ({ schemaVersion: 1, repo: repoJson(entry), initialized: true });
export const checkJson = (s: RepoCheckSummary): RepoCheckDocument => ({ schemaVersion: 1, repo: s.repo, ok: s.ok, readDataSubset: s.readDataSubset, durationMs: s.durationMs });

function passwordSource(entry: RepoEntry): string {
  if (entry.passwordFile !== undefined) return `file ${entry.passwordFile}`;
  if (entry.passwordCommand !== undefined) return `command ${entry.passwordCommand}`;
  return 'from the environment (RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD)';
}

export function showText(entry: RepoEntry): string[] {
  return [
    `${entry.name}`,
    `  repository: ${entry.repository}`,
    `  password:   ${passwordSource(entry)}`,
    ...(entry.options.length > 0 ? [`  options:    ${entry.options.map((o) => `-o ${o}`).join(' ')}`] : []),
    `  added:      ${entry.createdAt}`,
  ];
}

export function listText(entries: RepoEntry[], view: TextView): string[] {
  if (entries.length === 0) return ['no repositories (add one with `clawback repo add NAME RESTIC_REPOSITORY`)'];
  return renderTable(['Name', 'Repository', 'Password'], entries.map((e) => [e.name, e.repository, passwordSource(e)]), view, { shrink: { 1: 'middle', 2: 'end' } });
}

export const addedText = (entry: RepoEntry): string[] => [`added repository ${entry.name} (${entry.repository})`, `next: \`clawback repo init ${entry.name}\` if it does not exist yet, then \`clawback <name> snapshot push --repo ${entry.name}\``];
export const removedText = (entry: RepoEntry): string[] => [`forgot repository ${entry.name} (${entry.repository}); its snapshots stay in the repository`];
export const initText = (entry: RepoEntry): string[] => [`created restic repository ${entry.name} at ${entry.repository}`, 'keep the password safe: without it the repository cannot be read'];
export const checkText = (s: RepoCheckSummary): string[] => [`repository ${s.repo}: no errors${s.readDataSubset ? ` (read ${s.readDataSubset} of the data)` : ''} in ${formatDurationMs(s.durationMs)}`];
