import fs from 'node:fs';
import path from 'node:path';
import type { ClawbackCli, StepResult } from './clawback-cli.js';
import type { ReferenceTools } from './reference.js';

export const PUSH_STEPS = ['restic-bundle-first', 'restic-bundle-unchanged', 'push-first', 'push-unchanged'] as const;
export type PushStep = (typeof PUSH_STEPS)[number];

/**
 * `snapshot push` of the first bundle into a fresh local repository (its hashes checked, then restic
 * backup), and of the unchanged second bundle (hard links of the first) with the first as parent;
 * against `restic backup` of the same bundle directory, first and unchanged.
 */
export async function benchPush(
  cli: ClawbackCli,
  ref: ReferenceTools,
  sandbox: string,
  bundleDirs: string[],
  work: string,
  available: boolean,
  record: (key: PushStep, r: StepResult) => Promise<void>,
): Promise<void> {
  const [first, second] = bundleDirs;
  if (!available || first === undefined || second === undefined) {
    const reason: StepResult = { kind: 'missing', reason: available ? 'n/a (fewer than two snapshots)' : 'n/a (command not in this build)' };
    for (const key of PUSH_STEPS) await record(key, reason);
    return;
  }
  const restic = ref.restic(first);
  await record('restic-bundle-first', restic.first);
  await record('restic-bundle-unchanged', restic.unchanged);
  const repo = path.join(work, 'push-repo');
  const password = path.join(work, 'push-password');
  fs.writeFileSync(password, 'bench\n', { mode: 0o600 });
  try {
    cli.must(['repo', 'add', 'bench', repo, '--password-file', password]);
    cli.must(['repo', 'init', 'bench']);
    await record('push-first', cli.step([sandbox, 'snapshot', 'push', path.basename(first), '--repo', 'bench']).result);
    await record('push-unchanged', cli.step([sandbox, 'snapshot', 'push', path.basename(second), '--repo', 'bench']).result);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}
