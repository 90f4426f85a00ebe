import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateHome, type FixtureScale } from '../../fixtures/generate.js';

/** Bytes a directory takes: the sum of its files' sizes (a restic repository's growth is measured with it). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const dirent of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, dirent.name);
    if (dirent.isDirectory()) total += directoryBytes(full);
    else if (dirent.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

export interface ResticSnapshot {
  id: string;
  tags: string[];
  time: string;
  hostname: string;
}

/** restic's own view of a repository (not through clawback): every snapshot with its tags. */
export function resticSnapshots(repository: string, passwordFile: string, env: Record<string, string> = {}, options: string[] = []): ResticSnapshot[] {
  const out = execFileSync('restic', [...options.flatMap((o) => ['-o', o]), 'snapshots', '--json'], {
    env: { ...process.env, ...env, RESTIC_REPOSITORY: repository, RESTIC_PASSWORD_FILE: passwordFile },
    encoding: 'utf8',
  });
  const snapshots = (JSON.parse(out) as Array<Omit<ResticSnapshot, 'tags'> & { tags?: string[] }> | null) ?? [];
  return snapshots.map((s) => ({ ...s, tags: s.tags ?? [] }));
}

/** The `key=` tag's value of a restic snapshot. */
export function tagValue(snapshot: ResticSnapshot, key: string): string | undefined {
  return snapshot.tags.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1);
}

export interface PushSetup {
  /** The generated OpenClaw home, registered as the sandbox. */
  root: string;
  /** The restic repository, registered as `r` and initialised. */
  repo: string;
  passwordFile: string;
}

/**
 * What every push test starts from, under `base`: a generated OpenClaw home registered as `sandbox`,
 * and a restic repository `r` with its password in a file, initialised. `run` is the test's own way
 * of running clawback in its home (and asserting success).
 */
export async function setUpPush(base: string, run: (args: string[]) => Promise<unknown>, options: { scale: FixtureScale; password: string; sandbox?: string }): Promise<PushSetup> {
  const root = generateHome({ kind: 'openclaw', scale: options.scale, dir: path.join(base, 'oc') }).root;
  const repo = path.join(base, 'repo');
  const passwordFile = path.join(base, 'password');
  fs.writeFileSync(passwordFile, `${options.password}\n`, { mode: 0o600 });
  await run(['sandbox', 'add', options.sandbox ?? 'oc', '--agent', 'openclaw', '--root', root]);
  await run(['repo', 'add', 'r', repo, '--password-file', passwordFile]);
  await run(['repo', 'init', 'r']);
  return { root, repo, passwordFile };
}
