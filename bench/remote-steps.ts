import fs from 'node:fs';
import path from 'node:path';
import { startSshd, sshdBinary } from '../fixtures/sshd.js';
import { ClawbackCli, field, firstLine, parseJson, type StepResult } from './clawback-cli.js';
import type { Stopwatch, Timing } from './measure.js';
import type { ToolVersions } from './reference.js';

/** Optional capabilities other issues add; each row is skipped with its reason when absent. */
export const PUSH_COMMAND = 'snapshot-push';
export const VIA_SSH = 'via-ssh';

const PUSH_SANDBOX = 'bench';
const SSH_SANDBOX = 'bench-ssh';
const REPO_NAME = 'bench-restic';

type Record_ = (key: 'push-first' | 'push-unchanged' | 'restic-bundle-first' | 'restic-bundle-unchanged' | 'ssh-tar' | 'ssh-create' | 'ssh-create-unchanged', r: StepResult) => Promise<void>;

function outcome(t: Timing, what: string): StepResult {
  if (t.status !== 0) return { kind: 'failed', reason: `${what} exited ${t.status}: ${firstLine(t.stderr)}` };
  return { kind: 'timed', wallMs: t.wallMs, cpuMs: t.cpuMs, rssKiB: t.rssKiB };
}

/** A shell word for the remote side of ssh (it re-parses the command line). */
function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Issue 15's push: `NAME snapshot push latest --repo R` of the first bundle into a fresh local
 * restic repository, and of the unchanged re-snapshot after it, against `restic backup .` run in the
 * first bundle's directory (relative paths, as push does) into another fresh repository, then again
 * unchanged. The password comes from RESTIC_PASSWORD_FILE, never an argument.
 */
export class PushSteps {
  private readonly env: NodeJS.ProcessEnv;
  private readonly passwordFile: string;
  private skip: string | null = null;

  constructor(
    private readonly watch: Stopwatch,
    tools: ToolVersions,
    commands: Set<string>,
    private readonly work: string,
  ) {
    this.passwordFile = path.join(work, 'restic-password');
    // clawback's push and the reference keep their caches in the bench's own directory, so neither reads or writes its cache on another filesystem.
    this.env = { RESTIC_PASSWORD_FILE: this.passwordFile, RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };
    if (tools.restic === null) this.skip = 'restic not installed';
    else if (!commands.has(PUSH_COMMAND)) this.skip = 'n/a (snapshot push not in this build)';
  }

  get extraEnv(): NodeJS.ProcessEnv {
    return this.env;
  }

  /**
   * A fresh repository at `dir`: a copy of one repository initialised once per run, so clawback's and
   * the reference's share their key. restic sets the key's scrypt cost when it initialises a
   * repository, by timing scrypt on the machine as it is then (here the cost p was 7 for one and 5
   * for the other in the same minute, 0.51 s against 0.39 s of CPU): every restic start then pays
   * that cost again, so two keys made a few seconds apart weighed on the ratios by ±0.15 s.
   */
  private initRepo(dir: string): Timing {
    if (!fs.existsSync(this.passwordFile)) fs.writeFileSync(this.passwordFile, 'bench\n', { mode: 0o600 });
    const template = path.join(this.work, 'restic-template');
    if (!fs.existsSync(template)) {
      const init = this.watch.run('restic', ['init', '-q'], { env: { ...process.env, ...this.env, RESTIC_REPOSITORY: template } });
      if (init.status !== 0) return init;
    }
    return this.watch.run('cp', ['-a', template, dir], {});
  }

  /** Pushes the latest bundle (the first one, or the unchanged re-snapshot). */
  async push(cli: ClawbackCli, key: 'push-first' | 'push-unchanged', record: Record_): Promise<void> {
    if (this.skip !== null) return record(key, { kind: 'missing', reason: this.skip });
    if (key === 'push-first') {
      const repo = path.join(this.work, 'push-repo');
      const init = this.initRepo(repo);
      const add = init.status === 0 ? cli.run(['repo', 'add', REPO_NAME, repo, '--password-file', this.passwordFile]) : init;
      if (add.status !== 0) {
        this.skip = `setup failed: ${firstLine(add.stderr)}`;
        return record(key, { kind: 'failed', reason: this.skip });
      }
    }
    const t = cli.step([PUSH_SANDBOX, 'snapshot', 'push', 'latest', '--repo', REPO_NAME, '--json']);
    await record(key, t.result);
  }

  /** restic's own backup of the first bundle directory, then again with nothing changed. */
  async reference(bundleDir: string | null, record: Record_): Promise<void> {
    if (this.skip !== null || bundleDir === null) {
      const reason: StepResult = { kind: 'missing', reason: this.skip ?? 'n/a (no bundle)' };
      await record('restic-bundle-first', reason);
      return record('restic-bundle-unchanged', reason);
    }
    const repo = path.join(this.work, 'restic-bundle-repo');
    // The same repository id as clawback's (initRepo), so a cache place of its own, beside clawback's.
    const env = { ...process.env, ...this.env, RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: path.join(this.work, 'restic-cache-reference') };
    try {
      const init = this.initRepo(repo);
      if (init.status !== 0) return record('restic-bundle-first', outcome(init, 'restic init'));
      await record('restic-bundle-first', outcome(this.watch.run('restic', ['backup', '-q', '.'], { env, cwd: bundleDir }), 'restic backup'));
      await record('restic-bundle-unchanged', outcome(this.watch.run('restic', ['backup', '-q', '.'], { env, cwd: bundleDir }), 'restic backup'));
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  }
}

/** The bytes an unchanged re-snapshot moved over the transport, if `snapshot create --json` says. */
function wireBytes(t: Timing): number | undefined {
  const json = parseJson(t);
  for (const keys of [['snapshot', 'wireBytes'], ['snapshot', 'transfer', 'bytes'], ['snapshot', 'transferredBytes'], ['wireBytes']]) {
    const v = field(json, ...keys);
    if (typeof v === 'number') return v;
  }
  return undefined;
}

/**
 * Issue 14's transport: the home through a loopback OpenSSH server (fixtures/sshd.ts), as
 * `sandbox add --via ssh:ALIAS` with CLAWBACK_SSH_CONFIG, first and unchanged snapshots, against
 * `ssh -F FILE ALIAS 'tar cf - -C ROOT .' | tar xf -` of the same tree.
 */
export async function sshSteps(watch: Stopwatch, repo: string, commands: Set<string>, root: string, work: string, record: Record_): Promise<void> {
  if (sshdBinary() === undefined) {
    for (const key of ['ssh-tar', 'ssh-create', 'ssh-create-unchanged'] as const) await record(key, { kind: 'missing', reason: 'sshd not installed' });
    return;
  }
  const sshd = await startSshd({ dir: path.join(work, 'sshd'), alias: 'clawback-bench' });
  try {
    const dest = path.join(work, 'ssh-tar');
    fs.mkdirSync(dest);
    const tar = watch.shell(`ssh -F "$1" "$2" "$3" | tar xf - -C "$4"`, [sshd.configFile, sshd.alias, `tar cf - -C ${quote(root)} .`, dest]);
    fs.rmSync(dest, { recursive: true, force: true });
    await record('ssh-tar', outcome(tar, 'ssh tar c | tar x'));
    // The reference is measured either way: it shows the loopback server works before clawback can use it.
    if (!commands.has(VIA_SSH)) {
      const missing: StepResult = { kind: 'missing', reason: 'n/a (sandbox add --via not in this build)' };
      await record('ssh-create', missing);
      return record('ssh-create-unchanged', missing);
    }
    const cli = new ClawbackCli(watch, repo, path.join(work, 'clawback-ssh-home'), { CLAWBACK_SSH_CONFIG: sshd.configFile });
    const added = cli.run(['sandbox', 'add', SSH_SANDBOX, '--agent', 'openclaw', '--root', root, '--via', `ssh:${sshd.alias}`]);
    if (added.status !== 0) {
      const failed: StepResult = { kind: 'failed', reason: `sandbox add --via failed: ${firstLine(added.stderr)}` };
      await record('ssh-create', failed);
      return record('ssh-create-unchanged', failed);
    }
    await record('ssh-create', cli.step([SSH_SANDBOX, 'snapshot', 'create', '--json']).result);
    const again = cli.step([SSH_SANDBOX, 'snapshot', 'create', '--json']);
    const wire = wireBytes(again.timing);
    await record('ssh-create-unchanged', again.result.kind === 'timed' && wire !== undefined ? { ...again.result, detail: { wireBytes: wire } } : again.result);
    fs.rmSync(cli.home, { recursive: true, force: true });
  } finally {
    await sshd.stop();
  }
}
