import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AgentManifest } from './agent-manifest.js';

/**
 * The built-in agent manifests parsed at build time (`npm run build` writes this file beside the
 * module), so a command that only needs a built-in kind never loads the YAML parser (70-odd
 * modules). Each entry carries the sha256 of the YAML text it was parsed from and is used only
 * when that text is exactly the built-in's now: a stale or damaged cache is never trusted.
 */
export const BUILTIN_CACHE_FILE = 'builtin-manifests.json';

/** Per kind: the sha256 of its YAML text and the parsed manifest as JSON. */
export type BuiltinCache = Record<string, { sha256: string; json: string }>;

let loaded: BuiltinCache | null | undefined;

export function yamlDigest(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

function readCache(): BuiltinCache | null {
  try {
    return JSON.parse(fs.readFileSync(new URL(`./${BUILTIN_CACHE_FILE}`, import.meta.url), 'utf8')) as BuiltinCache;
  } catch {
    return null;
  }
}

/** The parsed manifest of built-in `kind` whose YAML is `text`, from the build's cache; undefined when the cache does not hold exactly that text (the caller parses). A fresh object each call. */
export function cachedBuiltin(kind: string, text: string): AgentManifest | undefined {
  if (loaded === undefined) loaded = readCache();
  const entry = loaded?.[kind];
  if (entry === undefined || entry.sha256 !== yamlDigest(text)) return undefined;
  try {
    // JSON has no undefined: a manifest without root_default comes back without the key.
    const manifest = JSON.parse(entry.json) as AgentManifest;
    manifest.rootDefault ??= undefined;
    return manifest;
  } catch {
    return undefined;
  }
}

/** The cache's text for these built-ins, parsed by `parse` (the build step passes the YAML parser). */
export function builtinCacheText(manifests: Record<string, string>, parse: (text: string, source: string) => AgentManifest): string {
  const cache: BuiltinCache = {};
  for (const [kind, text] of Object.entries(manifests)) cache[kind] = { sha256: yamlDigest(text), json: JSON.stringify(parse(text, `builtin:${kind}`)) };
  return `${JSON.stringify(cache)}\n`;
}
