import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHome } from '../../fixtures/generate.js';
import { clawback, REPO, tempDir } from '../helpers/cli.js';
import { writeHookScript } from '../helpers/hooks.js';
import { shapeOf, type Shape } from '../helpers/json-shape.js';

/**
 * The --json contract: every command's document is reduced to its shape (keys and value types,
 * recursively) and compared with test/fixtures/json/<name>.json. Renaming or removing a field
 * anywhere fails here. After a deliberate change, regenerate with CLAWBACK_UPDATE_JSON_FIXTURES=1.
 */
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'json');
const UPDATE = process.env.CLAWBACK_UPDATE_JSON_FIXTURES === '1';

const RECREATE = `#!/bin/sh
set -e
mkdir -p "$CLAWBACK_ROOT/workspace"
echo "# fresh" > "$CLAWBACK_ROOT/workspace/AGENTS.md"
echo '{"gateway":{"port":19001,"auth":{"token":"fresh"}}}' > "$CLAWBACK_ROOT/openclaw.json"
`;

const documents = new Map<string, unknown>();
let base: string;

async function run(name: string, home: string, args: string[], options: { env?: Record<string, string>; stream?: 'stdout' | 'stderr'; exitCode?: number } = {}): Promise<void> {
  const result = await clawback(home, [...args, '--json'], options.env ? { env: options.env } : {});
  expect(result.exitCode, `${args.join(' ')}: ${String(result.stderr)}`).toBe(options.exitCode ?? 0);
  documents.set(name, JSON.parse(String(options.stream === 'stderr' ? result.stderr : result.stdout)));
}

/** repo and push/pull/list/prune --repo, against a local restic repository. */
async function offsiteDocuments(home: string): Promise<void> {
  const password = path.join(base, 'restic-password');
  fs.writeFileSync(password, 'json contract\n', { mode: 0o600 });
  const options = { env: { RESTIC_CACHE_DIR: path.join(base, 'restic-cache') } };
  const repo = ['repo', 'add', 'r', path.join(base, 'repo'), '--password-file', password];
  await run('repo-add', home, repo, options);
  await run('repo-init', home, ['repo', 'init', 'r'], options);
  await run('repo-list', home, ['repo', 'list'], options);
  await run('repo-show', home, ['repo', 'show', 'r'], options);
  await run('snapshot-push', home, ['oc', 'snapshot', 'push', 'first', '--repo', 'r'], options);
  await run('snapshot-list-repo', home, ['oc', 'snapshot', 'list', '--repo', 'r'], options);
  await run('snapshot-prune-repo', home, ['oc', 'snapshot', 'prune', '--repo', 'r', '--keep-last', '1', '--dry-run'], options);
  await run('repo-check', home, ['repo', 'check', 'r'], options);
  const other = path.join(base, 'other-machine');
  expect((await clawback(other, repo, options)).exitCode).toBe(0);
  expect((await clawback(other, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', path.join(base, 'other-root')])).exitCode).toBe(0);
  await run('snapshot-pull', other, ['oc', 'snapshot', 'pull', 'first', '--repo', 'r'], options);
  await run('repo-remove', home, ['repo', 'remove', 'r'], options);
}

beforeAll(async () => {
  base = tempDir('clawback-json-');
  const home = path.join(base, 'home');
  const sample = generateHome({ kind: 'openclaw', scale: 'tiny', dir: path.join(base, 'openclaw') });
  const recreate = writeHookScript(path.join(base, 'hooks'), 'recreate.sh', RECREATE);
  const root = sample.root;
  await run('sandbox-add', home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root, '--hook-running', 'true', '--hook-recreate', recreate]);
  await run('sandbox-set', home, ['sandbox', 'set', 'oc', '--hook-start', 'true']);
  await run('sandbox-list', home, ['sandbox', 'list']);
  await run('sandbox-show', home, ['sandbox', 'show', 'oc']);
  await run('snapshot-create', home, ['oc', 'snapshot', 'create', '--name', 'first']);
  fs.appendFileSync(path.join(root, 'workspace', 'SOUL.md'), '\nchanged\n');
  fs.rmSync(path.join(root, 'workspace', 'USER.md'), { force: true });
  fs.writeFileSync(path.join(root, 'workspace', 'NEW.md'), 'new\n');
  await clawback(home, ['oc', 'snapshot', 'create']);
  await run('snapshot-list', home, ['oc', 'snapshot', 'list']);
  await run('snapshot-show', home, ['oc', 'snapshot', 'show', 'first']);
  await run('snapshot-diff', home, ['oc', 'snapshot', 'diff', 'first', 'latest']);
  await run('snapshot-ls', home, ['oc', 'snapshot', 'ls', 'first', 'workspace']);
  await run('snapshot-find', home, ['oc', 'snapshot', 'find', 'SOUL.md']);
  await run('snapshot-stats', home, ['oc', 'snapshot', 'stats', 'first']);
  await run('snapshot-stats-all', home, ['oc', 'snapshot', 'stats']);
  await run('snapshot-verify', home, ['oc', 'snapshot', 'verify', '--all']);
  await run('snapshot-restore-dry-run', home, ['oc', 'snapshot', 'restore', 'first', '--dry-run']);
  await run('snapshot-restore', home, ['oc', 'snapshot', 'restore', 'first', '--yes']);
  await run('snapshot-restore-to-dir', home, ['oc', 'snapshot', 'restore', 'first', '--to-dir', path.join(base, 'first-dir'), '--path', 'workspace', 'memory']);
  const archive = path.join(base, 'first.tar.gz');
  await run('snapshot-export', home, ['oc', 'snapshot', 'export', 'first', '-o', archive]);
  expect((await clawback(home, ['sandbox', 'add', 'copy', '--agent', 'openclaw', '--root', path.join(base, 'copy')])).exitCode).toBe(0);
  await run('snapshot-import', home, ['copy', 'snapshot', 'import', archive, '--name', 'imported']);
  await run('snapshot-prune', home, ['oc', 'snapshot', 'prune', '--keep-last', '2', '--dry-run']);
  await offsiteDocuments(home);
  await run('rebuild', home, ['oc', 'rebuild', '--yes']);
  await run('backup-all', home, ['backup-all']);
  // A failed run too, so the status document shows both a last success and a last failure.
  expect((await clawback(home, ['oc', 'snapshot', 'create', '--name', 'first'])).exitCode).not.toBe(0);
  await run('status', home, ['status', '--max-age', '7d']);
  await run('manifest-show', home, ['manifest', 'show', 'hermes']);
  const custom = path.join(base, 'custom.yaml');
  fs.writeFileSync(custom, 'agent: custom\nversion: 1\nmodules:\n  docs: [docs/**]\n  secrets: { paths: [.env], secret: true }\nexclude: [cache/**]\n');
  await run('manifest-check', home, ['manifest', 'check', custom]);
  const corrupt = '2020-01-01T00-00-00-000Z';
  fs.mkdirSync(path.join(home, 'rebuild-backups', 'oc', corrupt));
  await run('snapshot-show-unreadable', home, ['oc', 'snapshot', 'show', corrupt]);
  await run('snapshot-delete', home, ['oc', 'snapshot', 'delete', corrupt, 'first', '--yes']);
  const userHome = path.join(base, 'user');
  fs.mkdirSync(path.join(userHome, '.hermes'), { recursive: true });
  fs.writeFileSync(path.join(userHome, '.hermes', 'config.yaml'), 'model: x\n');
  await run('discover', home, ['discover', '--yes'], { env: { HOME: userHome } });
  await run('sandbox-remove', home, ['sandbox', 'remove', 'oc', '--yes']);
  await run('error', home, ['nosuch', 'snapshot', 'list'], { stream: 'stderr', exitCode: 4 });
  await run('error-usage', home, ['oc', 'snapshot', 'list', '--bogus'], { stream: 'stderr', exitCode: 2 });
}, 240_000);

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('--json documents', () => {
  it('every committed shape has a document, and every document a committed shape', () => {
    if (UPDATE) return;
    const committed = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
    expect(committed).toEqual([...documents.keys()].sort());
  });

  it('keep every field name and value type', () => {
    for (const [name, document] of documents) {
      const file = path.join(FIXTURES, `${name}.json`);
      const shape = shapeOf(document);
      if (UPDATE) {
        fs.mkdirSync(FIXTURES, { recursive: true });
        fs.writeFileSync(file, JSON.stringify(shape, null, 2) + '\n');
        continue;
      }
      const expected = JSON.parse(fs.readFileSync(file, 'utf8')) as Shape;
      expect(shape, `${name}: the --json document changed shape (test/fixtures/json/${name}.json)`).toEqual(expected);
    }
  });
});
