import { describe, expect, it } from 'vitest';
import { parseAgentManifest } from '../../src/manifest/agent-manifest.js';
import { BUILTIN_MANIFESTS } from '../../src/manifest/builtin.js';
import { ClawbackError } from '../../src/errors.js';

function problem(text: string): string {
  try {
    parseAgentManifest(text, 'agent.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ClawbackError);
    expect((error as ClawbackError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('expected the manifest to be refused');
}

describe('agent manifests', () => {
  it('parses every built-in manifest', () => {
    for (const [kind, text] of Object.entries(BUILTIN_MANIFESTS)) {
      const manifest = parseAgentManifest(text, `builtin:${kind}`);
      expect(manifest.agent).toBe(kind);
      expect(manifest.modules.length).toBeGreaterThan(2);
      expect(manifest.modules.some((m) => m.name === 'secrets' && m.secret)).toBe(true);
    }
  });

  it('reads the full vocabulary', () => {
    const m = parseAgentManifest(
      `agent: custom
version: 1
root_default: ~/.custom
capture: selective
state_dirs:
  - workspace
  - prefix: workspace-
  - { path: cache, backup: false }
state_files:
  - SOUL.md
  - { path: memory/main.sqlite, strategy: sqlite_backup }
  - { path: settings.json, strategy: copy, restore: { merge: json-merge, protected: [auth.token] } }
modules:
  workspaces: [workspace/**, workspace-*/**]
  secrets: { paths: [credentials/**], secret: true }
exclude: ["**/*.lock"]
machine_local: [identity/**]
user_managed_files: [.env]
`,
      'custom.yaml',
    );
    expect(m.capture).toBe('selective');
    expect(m.stateDirs).toEqual([
      { path: 'workspace', prefix: false, backup: true },
      { path: 'workspace-', prefix: true, backup: true },
      { path: 'cache', prefix: false, backup: false },
    ]);
    expect(m.stateFiles[2]).toEqual({ path: 'settings.json', strategy: 'copy', merge: { kind: 'json-merge', keys: [], protected: ['auth.token'] } });
    expect(m.modules).toEqual([
      { name: 'workspaces', globs: ['workspace/**', 'workspace-*/**'], secret: false },
      { name: 'secrets', globs: ['credentials/**'], secret: true },
    ]);
    expect(m.machineLocal).toEqual(['identity/**']);
  });

  it('reads managed_links and its older name allow_links as one list, and exclude_except', () => {
    const m = parseAgentManifest('agent: x\nversion: 1\nmanaged_links: [plugin-skills/**]\nallow_links: [legacy/*]\nexclude: [cache/**]\nexclude_except: [cache/images/**]\n', 'agent.yaml');
    expect(m.managedLinks).toEqual(['plugin-skills/**', 'legacy/*']);
    expect(m.exclude).toEqual(['cache/**']);
    expect(m.excludeExcept).toEqual(['cache/images/**']);
  });

  it.each([
    ['agent: x\nversion: 1\nmanaged_links: [/abs/**]\n', /agent\.yaml:3: managed_links item "\/abs\/\*\*" is absolute/],
    ['agent: x\nversion: 1\nexclude_except:\n  - ../x\n', /agent\.yaml:4: exclude_except item "\.\.\/x" contains '\.\.'/],
    ['agent: x\nversion: 1\nstate_files:\n  - /etc/passwd\n', /agent\.yaml:4: .*is absolute/],
    ['agent: x\nversion: 1\nstate_dirs:\n  - ok\n  - ../up\n', /agent\.yaml:5: .*contains '\.\.'/],
    ['agent: x\nversion: 1\nexclude: ["a\\\\b"]\n', /agent\.yaml:3: .*backslash/],
    ['agent: x\nversion: 1\nstate_files:\n  - "a\\0b"\n', /agent\.yaml:4: .*NUL/],
    ['agent: x\nversion: 2\n', /agent\.yaml:2: version must be 1/],
    ['agent: x\nversion: 1\ncapture: partial\n', /agent\.yaml:3: capture must be whole or selective/],
    ['agent: x\nversion: 1\nbogus: 1\n', /agent\.yaml:3: unknown key "bogus"/],
    ['agent: x\nversion: 1\nstate_files:\n  - { path: a, strategy: rsync }\n', /agent\.yaml:4: strategy must be copy or sqlite_backup/],
    ['agent: x\nversion: 1\nmodules:\n  other: [a]\n', /agent\.yaml:4: "other" is reserved/],
    ['agent: [unclosed\n', /agent\.yaml(:\d+)?: /],
    ['version: 1\n', /agent must be a non-empty string/],
  ])('refuses %j with file and line', (text, expected) => {
    expect(problem(text)).toMatch(expected);
  });
});
