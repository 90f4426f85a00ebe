/** The built-in agent manifests, kept as YAML text so they go through the same loader as user manifests. */
export const BUILTIN_MANIFESTS: Record<string, string> = {
  openclaw: `agent: openclaw
version: 1
root_default: ~/.openclaw
capture: whole
state_dirs:
  - workspace
  - prefix: workspace-
  - agents
  - skills
  - memory
  - credentials
  - { path: browser, backup: false }
state_files:
  - { path: openclaw.json, strategy: copy, restore: { merge: openclaw-config } }
  - { path: memory/main.sqlite, strategy: sqlite_backup }
modules:
  workspaces: [workspace/**, workspace-*/**]
  sessions: [agents/*/sessions/**]
  agents: [agents/**]
  config: [openclaw.json]
  skills: [skills/**]
  memory: [memory/**]
  extensions: [extensions/**]
  secrets: { paths: [credentials/**, .env], secret: true }
exclude:
  - "**/Cache/**"
  - "**/GPUCache/**"
  - "**/Code Cache/**"
  - "browser/**"
  - "**/*.pid"
  - "**/*.lock"
  - "logs/**"
  - "tmp/**"
machine_local: [identity/**, devices/**]
user_managed_files: [.mcp.json]
agent_dirs: ["workspace-*", "agents/*"]
`,
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
state_files:
  - SOUL.md
  - { path: runtime/state.db, strategy: sqlite_backup }
  - { path: kanban.db, strategy: sqlite_backup }
  - { path: config.yaml, strategy: copy }
modules:
  persona: [SOUL.md, memories/**]
  sessions: [sessions/**, runtime/**]
  kanban: [kanban.db]
  skills: [skills/**]
  config: [config.yaml, cron/**]
  secrets: { paths: [.env, auth.json], secret: true }
exclude: ["**/Cache/**", "**/*.pid", "**/*.lock", "logs/**", "cache/**", "tmp/**"]
machine_local: [machine/**]
user_managed_files: []
agent_dirs: ["profiles/*"]
`,
  deepagents: `agent: deepagents
version: 1
root_default: ~/.deepagents
capture: whole
state_dirs:
  - agents
  - skills
state_files:
  - { path: config.toml, strategy: copy, restore: { merge: key-allowlist, keys: [model, temperature, max_tokens, auto_approve, shell_allow_list, ui] } }
modules:
  agents: [agents/**]
  skills: [skills/**]
  config: [config.toml]
  secrets: { paths: [.env, credentials/**], secret: true }
exclude: ["**/__pycache__/**", "**/*.pyc", "**/*.pid", "**/*.lock", "logs/**", "cache/**"]
machine_local: []
user_managed_files: [.env]
agent_dirs: ["agents/*"]
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
