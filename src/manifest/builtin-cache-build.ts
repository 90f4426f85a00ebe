import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAgentManifest } from './agent-manifest.js';
import { BUILTIN_MANIFESTS } from './builtin.js';
import { BUILTIN_CACHE_FILE, builtinCacheText } from './builtin-cache.js';

// `npm run build` runs this after tsc: the built-in manifests, parsed, beside builtin-cache.js.
const file = fileURLToPath(new URL(`./${BUILTIN_CACHE_FILE}`, import.meta.url));
fs.writeFileSync(`${file}.tmp`, builtinCacheText(BUILTIN_MANIFESTS, parseAgentManifest));
fs.renameSync(`${file}.tmp`, file);
