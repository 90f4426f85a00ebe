import type { SandboxEntry } from '../../store/registry.js';
import type { JsonDocument } from './document.js';
import { renderTable } from './table.js';
import { shortPath, type TextView } from './terminal-text.js';

export interface SandboxJson {
  name: string;
  agent: string;
  root: string;
  secretsRoot?: string;
  /** How the root is reached (SPEC §11): `local`, `ssh:…`, `docker:…`… */
  via: string;
  policyPresets: string[];
  customPolicies: Array<{ name: string; content: string }>;
  hooks: { running?: string; stop?: string; start?: string; recreate?: string };
  createdAt: string;
}

export interface SandboxDocument extends JsonDocument {
  sandbox: SandboxJson;
}

export interface SandboxListDocument extends JsonDocument {
  /** `rootExists` is null for a remote sandbox: listing does not connect (`sandbox check` does). */
  sandboxes: Array<SandboxJson & { rootExists: boolean | null }>;
}

export interface SandboxRemovedDocument extends JsonDocument {
  removed: SandboxJson;
}

export interface ListedSandbox {
  entry: SandboxEntry;
  rootExists: boolean | null;
}

type HooksJson = SandboxJson['hooks'];
const HOOK_NAMES: ReadonlyArray<keyof HooksJson> = ['running', 'stop', 'start', 'recreate'];

/** The hooks in the order they were set (as the registry keeps them). */
function hooksJson(hooks: SandboxEntry['hooks']): HooksJson {
  const out: HooksJson = {};
  for (const [name, command] of Object.entries(hooks)) {
    const known = HOOK_NAMES.find((h) => h === name);
    if (known !== undefined && command !== undefined) out[known] = command;
  }
  return out;
}

export function sandboxJson(entry: SandboxEntry): SandboxJson {
  return {
    name: entry.name,
    agent: entry.agent,
    root: entry.root,
    ...(entry.secretsRoot !== undefined ? { secretsRoot: entry.secretsRoot } : {}),
    via: entry.via ?? 'local',
    policyPresets: [...entry.policyPresets],
    customPolicies: entry.customPolicies.map((p) => ({ name: p.name, content: p.content })),
    hooks: hooksJson(entry.hooks),
    createdAt: entry.createdAt,
  };
}

export function json(entry: SandboxEntry): SandboxDocument {
  return { schemaVersion: 1, sandbox: sandboxJson(entry) };
}

export function text(entry: SandboxEntry): string[] {
  const lines = [`name:     ${entry.name}`, `agent:    ${entry.agent}`, `root:     ${entry.root}`, `via:      ${entry.via ?? 'local'}`];
  if (entry.secretsRoot) lines.push(`secrets:  ${entry.secretsRoot}`);
  for (const [hook, cmd] of Object.entries(entry.hooks)) lines.push(`hook ${hook}: ${cmd}`);
  if (entry.policyPresets.length) lines.push(`policy presets: ${entry.policyPresets.join(', ')}`);
  if (entry.customPolicies.length) lines.push(`custom policies: ${entry.customPolicies.map((p) => p.name).join(', ')}`);
  return lines;
}

export function addedText(entry: SandboxEntry): string[] {
  return [`registered ${entry.name} (${entry.agent}) at ${entry.root}${entry.via !== undefined ? ` via ${entry.via}` : ''}`];
}

export function listJson(sandboxes: ListedSandbox[]): SandboxListDocument {
  return { schemaVersion: 1, sandboxes: sandboxes.map((s) => ({ ...sandboxJson(s.entry), rootExists: s.rootExists })) };
}

export function listText(sandboxes: ListedSandbox[], view: TextView): string[] {
  if (sandboxes.length === 0) return ['no sandboxes registered (try `clawback discover`)'];
  // The Via column appears once some sandbox is reached through a transport.
  const via = sandboxes.some((s) => s.entry.via !== undefined);
  const row = (s: ListedSandbox): string[] => [
    s.entry.name,
    s.entry.agent,
    ...(via ? [s.entry.via ?? 'local'] : []),
    s.entry.via !== undefined ? s.entry.root : shortPath(s.entry.root, view),
    s.rootExists === null ? '-' : s.rootExists ? 'yes' : 'no',
  ];
  return renderTable(
    ['Name', 'Agent', ...(via ? ['Via'] : []), 'Root', 'Root exists'],
    sandboxes.map(row),
    view,
    { shrink: via ? { 1: 'middle', 2: 'middle', 3: 'middle' } : { 1: 'middle', 2: 'middle' } },
  );
}

export function removedJson(entry: SandboxEntry): SandboxRemovedDocument {
  return { schemaVersion: 1, removed: sandboxJson(entry) };
}

export function removedText(entry: SandboxEntry, bundlesDir: string): string[] {
  return [`forgot ${entry.name}; its bundles stay in ${bundlesDir}`];
}

export function removeQuestion(name: string): string {
  return `forget sandbox ${name}? its bundles stay on disk`;
}

