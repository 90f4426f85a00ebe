import { getSandbox } from '../../store/registry.js';
import { shellQuote } from '../../transport/index.js';
import type { EngineDeps } from '../deps.js';
import { withSandboxTransport } from './transport.js';

/** What a sandbox's target offers clawback (SPEC §11), and what that means for snapshots and restores. */
export interface TargetCheck {
  sandbox: string;
  via: string;
  root: string;
  rootExists: boolean;
  /** The user clawback runs as in the target (files it writes there are that user's). */
  user: string;
  tools: Record<CheckedTool, boolean>;
  /** `gnu`, `busybox`, `bsdtar`, `other`, or null when there is no tar. */
  tar: string | null;
  /** How databases are captured: inside the target through SQLite, or raw and made self-contained here. */
  databases: 'python3' | 'sqlite3' | 'raw';
  /** Snapshots can be taken: every tool they need is there. */
  snapshots: boolean;
  /** Restores can be staged and checked in the target. */
  restores: boolean;
  /** One line each: what is missing, and what that means. */
  notes: string[];
}

const TOOLS = ['find', 'stat', 'xargs', 'mktemp', 'readlink', 'od', 'mv', 'sha256sum', 'gzip', 'python3', 'sqlite3'] as const;
export type CheckedTool = 'sh' | (typeof TOOLS)[number] | 'python3-sqlite3';
const SNAPSHOT_NEEDS: readonly CheckedTool[] = ['find', 'stat', 'xargs', 'mktemp', 'readlink', 'od'];

function checkScript(root: string): string {
  return [
    'echo sh=yes',
    `for t in ${TOOLS.join(' ')}; do if command -v "$t" >/dev/null 2>&1; then echo "$t=yes"; else echo "$t=no"; fi; done`,
    "if command -v python3 >/dev/null 2>&1 && python3 -c 'import sqlite3' >/dev/null 2>&1; then echo python3-sqlite3=yes; else echo python3-sqlite3=no; fi",
    'if command -v tar >/dev/null 2>&1; then v=$(tar --version 2>&1 | head -n 3); case "$v" in *GNU*) echo tar=gnu;; *BusyBox*|*busybox*) echo tar=busybox;; *bsdtar*|*libarchive*) echo tar=bsdtar;; *) echo tar=other;; esac; else echo tar=none; fi',
    `if [ -d ${shellQuote(root)} ]; then echo root=yes; else echo root=no; fi`,
    'echo "user=$(id -un 2>/dev/null || id -u)"',
  ].join('\n');
}

function notesOf(check: Omit<TargetCheck, 'notes'>): string[] {
  const notes: string[] = [];
  const missing = SNAPSHOT_NEEDS.filter((t) => !check.tools[t]);
  if (check.tar === null) missing.unshift('tar' as CheckedTool);
  if (missing.length > 0) notes.push(`snapshots cannot run: missing ${missing.join(', ')} in the target`);
  if (!check.rootExists) notes.push(`the state root ${check.root} does not exist in the target`);
  if (check.databases === 'python3') notes.push("databases are backed up inside the target with python3's sqlite3 module, then checked here");
  else if (check.databases === 'sqlite3') notes.push('databases are backed up inside the target with the sqlite3 binary, then checked here');
  else notes.push('no SQLite in the target: databases are copied raw with their -wal, made self-contained and checked here ("captured without SQLite in the sandbox")');
  if (!check.tools.sha256sum && !check.tools['python3-sqlite3'] && !check.tools.python3) notes.push('restores cannot check hashes in the target: it has neither sha256sum nor python3');
  if (!check.tools.gzip) notes.push('no gzip: the listing of an unchanged snapshot crosses the wire uncompressed');
  return notes;
}

/** Connects to the sandbox's target and asks what it offers. Unreachable targets throw (exit 8). */
export async function checkSandbox(name: string, deps: EngineDeps): Promise<TargetCheck> {
  const entry = getSandbox(deps.layout, name);
  const answers = await withSandboxTransport(entry, deps, (transport) => transport.run(checkScript(entry.root), 'command -v find stat tar …'));
  const said = new Map(answers.toString('utf8').split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const));
  const tools = Object.fromEntries(['sh', ...TOOLS, 'python3-sqlite3'].map((t) => [t, said.get(t) === 'yes'])) as Record<CheckedTool, boolean>;
  const tar = said.get('tar') === 'none' || !said.has('tar') ? null : said.get('tar')!;
  const base = {
    sandbox: name,
    via: entry.via ?? 'local',
    root: entry.root,
    rootExists: said.get('root') === 'yes',
    user: said.get('user') ?? '?',
    tools,
    tar,
    databases: tools['python3-sqlite3'] ? ('python3' as const) : tools.sqlite3 ? ('sqlite3' as const) : ('raw' as const),
    snapshots: tar !== null && SNAPSHOT_NEEDS.every((t) => tools[t]),
    restores: tar !== null && tools.mv && tools.mktemp && (tools.sha256sum || tools.python3),
  };
  return { ...base, notes: notesOf(base) };
}
