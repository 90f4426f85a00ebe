import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentManifest, type AgentManifest } from '../../src/manifest/agent-manifest.js';
import { BUILTIN_MANIFESTS } from '../../src/manifest/builtin.js';
import { REPO } from '../helpers/cli.js';

/** The built cache (npm run build writes it beside dist's builtin-cache.js; global setup builds). */
async function builtModule(): Promise<{ cachedBuiltin: (kind: string, text: string) => AgentManifest | undefined }> {
  const built = path.join(REPO, 'dist', 'src', 'manifest', 'builtin-cache.js');
  expect(fs.existsSync(path.join(path.dirname(built), 'builtin-manifests.json')), 'run `npm run build` first').toBe(true);
  return (await import(built)) as { cachedBuiltin: (kind: string, text: string) => AgentManifest | undefined };
}

describe('the built-in manifests parsed at build time', () => {
  it('hold exactly what parsing the YAML gives, for every built-in kind', async () => {
    const { cachedBuiltin } = await builtModule();
    for (const [kind, text] of Object.entries(BUILTIN_MANIFESTS)) {
      const cached = cachedBuiltin(kind, text);
      expect(cached, kind).toBeDefined();
      expect(cached).toStrictEqual(parseAgentManifest(text, `builtin:${kind}`));
    }
  });

  it('are not used for a text they were not parsed from, and each call gets its own object', async () => {
    const { cachedBuiltin } = await builtModule();
    const text = BUILTIN_MANIFESTS.openclaw!;
    expect(cachedBuiltin('openclaw', `${text}\n# edited\n`)).toBeUndefined();
    expect(cachedBuiltin('no-such-kind', text)).toBeUndefined();
    const a = cachedBuiltin('openclaw', text)!;
    a.exclude.push('mutated');
    expect(cachedBuiltin('openclaw', text)!.exclude).not.toContain('mutated');
  });
});
