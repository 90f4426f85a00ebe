import fs from 'node:fs';
import { NotFoundError, UsageError } from '../../errors.js';
import { parseAgentManifest, type AgentManifest } from '../../manifest/agent-manifest.js';
import { BUILTIN_KINDS, BUILTIN_MANIFESTS } from '../../manifest/builtin.js';

/** A built-in manifest's YAML, to start a custom one from. */
export function builtinManifestText(kind: string): string {
  const text = BUILTIN_MANIFESTS[kind];
  if (text === undefined) {
    throw new UsageError(`no built-in manifest ${JSON.stringify(kind)}`, { hint: `built-in kinds: ${BUILTIN_KINDS.join(', ')}` });
  }
  return text;
}

/** Reads and validates a manifest file; a problem fails with the file and line (exit 2). */
export function checkManifestFile(file: string): AgentManifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (code === 'ENOENT') throw new NotFoundError('manifest-not-found', `manifest ${file} does not exist`, { hint: 'check the path' });
    throw new UsageError(`cannot read manifest ${file}: ${code}`, { hint: 'check the path and its permissions' });
  }
  return parseAgentManifest(text, file);
}
