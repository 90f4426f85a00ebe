/** The built-in agent manifests, kept as YAML text so they go through the same loader as user manifests. */
export const BUILTIN_MANIFESTS: Record<string, string> = {
  // OpenClaw ~/.openclaw (SPEC §12). Module order matters: the first module whose globs match wins.
  openclaw: `agent: openclaw
version: 1
root_default: ~/.openclaw
capture: whole
state_dirs:
  - workspace
  - prefix: workspace-
  - agents
  - state
  - memory
  - skills
  - extensions
  - credentials
  - cron
  - media
  - { path: browser, backup: false }
state_files:
  - { path: openclaw.json, strategy: copy, restore: { merge: openclaw-config } }
  - { path: state/openclaw.sqlite, strategy: sqlite_backup }
modules:
  secrets: { paths: [.env, secrets.json, credentials/**, "agents/*/agent/auth*.json"], secret: true }
  config: [openclaw.json, openclaw.json.last-good, .config-hash]
  workspaces: [workspace/**, workspace-*/**]
  sessions: [state/**, "agents/*/agent/*.sqlite", agents/*/sessions/**]
  agents: [agents/**]
  memory: [memory/**]
  skills: [skills/**, plugin-skills/**]
  extensions: [extensions/**]
  cron: [cron/**]
  media: [media/**]
exclude:
  - logs/**
  - browser/**
  - tmp/**
  - dev/**
  - git/**
  - npm/**
  - tools/**
  - extensions/**/node_modules/**
  - "**/*.clobbered.*"
  - "**/Cache/**"
  - "**/GPUCache/**"
  - "**/Code Cache/**"
  - "**/*.pid"
  - "**/*.lock"
machine_local: [identity/**, devices/**]
user_managed_files: [.mcp.json]
managed_links: [plugin-skills/**]
agent_dirs: ["workspace-*", "agents/*"]
`,
  // Hermes ~/.hermes (SPEC §12). profiles/<name>/ are nested homes: every rule is repeated under profiles/*/.
  hermes: `agent: hermes
version: 1
root_default: ~/.hermes
capture: whole
state_dirs:
  - memories
  - skills
  - sessions
  - runtime
  - cron
  - platforms
  - pairing
  - profiles
state_files:
  - SOUL.md
  - { path: config.yaml, strategy: copy }
  - { path: runtime/state.db, strategy: sqlite_backup }
  - { path: kanban.db, strategy: sqlite_backup }
  - { path: response_store.db, strategy: sqlite_backup }
modules:
  secrets:
    paths: [.env, auth.json, vault.key, vault.json.enc, browser-profile/**,
      profiles/*/.env, profiles/*/auth.json, profiles/*/vault.key, profiles/*/vault.json.enc, profiles/*/browser-profile/**]
    secret: true
  profiles: [profiles/**]
  config: [config.yaml]
  memory: [SOUL.md, memories/**]
  sessions: [state.db, runtime/**, sessions/**, response_store.db]
  kanban: [kanban.db, kanban/**]
  skills: [skills/**]
  cron: [cron/**]
  platforms: [platforms/**, pairing/**, gateway/**]
  media: [cache/**]
exclude:
  - hermes-agent/**
  - models/**
  - runtimes/**
  - node/**
  - cache/**
  - checkpoints/**
  - backups/**
  - state-snapshots/**
  - browser-profiles/**
  - logs/**
  - profiles/*/hermes-agent/**
  - profiles/*/models/**
  - profiles/*/runtimes/**
  - profiles/*/node/**
  - profiles/*/cache/**
  - profiles/*/checkpoints/**
  - profiles/*/backups/**
  - profiles/*/state-snapshots/**
  - profiles/*/browser-profiles/**
  - profiles/*/logs/**
  - "**/*.pid"
  - "**/*.lock"
  - "**/*.sock"
  - "**/Cache/**"
  - "**/GPUCache/**"
exclude_except:
  - "cache/{images,audio,videos,documents,screenshots,citations}/**"
  - "profiles/*/cache/{images,audio,videos,documents,screenshots,citations}/**"
machine_local:
  - gateway_state.json
  - processes.json
  - hooks/**
  - profiles/*/gateway_state.json
  - profiles/*/processes.json
  - profiles/*/hooks/**
user_managed_files: []
managed_links: [state.db, profiles/*/state.db]
agent_dirs: ["profiles/*"]
`,
  // Deep Agents ~/.deepagents (docs.langchain.com "Data locations"): .state/ is per-machine app state;
  // every other top-level directory but skills/ is one agent's (default "agent").
  deepagents: `agent: deepagents
version: 1
root_default: ~/.deepagents
capture: whole
state_files:
  - { path: config.toml, strategy: copy, restore: { merge: key-allowlist, keys: [model, temperature, max_tokens, auto_approve, shell_allow_list, ui] } }
  - { path: .state/sessions.db, strategy: sqlite_backup }
modules:
  secrets: { paths: [.env, .state/mcp-tokens/**, ".state/*oauth*", ".state/*oauth*/**", .state/auth.json, credentials/**], secret: true }
  config: [config.toml, hooks.json, .mcp.json]
  sessions: [.state/**, sessions.db, history.jsonl]
  memory: ["*/AGENTS.md", "*/memories/**"]
  skills: [skills/**, "*/skills/**"]
  agents: ["*/agents/**", "*/**"]
exclude:
  - ".state/*version*"
  - ".state/*update*"
  - "**/__pycache__/**"
  - "**/*.pyc"
  - "**/*.pid"
  - "**/*.lock"
  - logs/**
  - cache/**
machine_local: []
user_managed_files: [.env, .mcp.json]
agent_dirs: ["*", "!skills", "!logs", "!cache", "!credentials"]
`,
  qwenpaw: `agent: qwenpaw
version: 1
root_default: ~/.qwenpaw
capture: selective
state_dirs:
  - skill_pool
  - workspaces
  - secrets
state_files:
  - { path: config.json, strategy: copy }
modules:
  workspaces: [workspaces/**]
  config: [config.json]
  skill_pool: [skill_pool/**]
  secrets: { paths: [secrets/**], secret: true }
exclude:
  - "**/browser/**/Cache/**"
  - "**/browser/**/Cache*"
  - "**/GPUCache/**"
  - "**/Code Cache/**"
  - "**/__pycache__/**"
  - "**/*.pid"
  - "**/*.lock"
machine_local: []
user_managed_files: []
agent_dirs: ["workspaces/*"]
`,
};

export const BUILTIN_KINDS = Object.keys(BUILTIN_MANIFESTS);
