import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { firstLine, type StepResult } from './clawback-cli.js';
import type { Stopwatch, Timing } from './measure.js';

export interface ToolVersions {
  restic: string | null;
  sqlite3: string | null;
  tar: string | null;
  /** `openssl dgst`'s SHA-256 (OpenSSL's own code, as node's): the reference hasher for verify. */
  openssl: string | null;
}

export function toolVersions(): ToolVersions {
  const version = (cmd: string, args: string[]): string | null => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? firstLine(r.stdout) : null;
  };
  return {
    restic: version('restic', ['version']),
    sqlite3: version('sqlite3', ['--version']),
    tar: version('tar', ['--version']),
    openssl: version('openssl', ['version']),
  };
}

function outcome(t: Timing, what: string): StepResult {
  if (t.status !== 0) return { kind: 'failed', reason: `${what} exited ${t.status}: ${firstLine(t.stderr)}` };
  return { kind: 'timed', wallMs: t.wallMs, cpuMs: t.cpuMs, rssKiB: t.rssKiB };
}

/** The reference tools, run on the same tree and writing into `work` (same filesystem). */
export class ReferenceTools {
  constructor(
    private readonly watch: Stopwatch,
    private readonly tools: ToolVersions,
    private readonly work: string,
  ) {}

  private out(name: string): string {
    return path.join(this.work, name);
  }

  private clean(name: string): void {
    fs.rmSync(this.out(name), { recursive: true, force: true });
  }

  cpA(root: string): StepResult {
    const r = outcome(this.watch.run('cp', ['-a', root, this.out('cp-a')]), 'cp -a');
    this.clean('cp-a');
    return r;
  }

  cpAl(root: string): StepResult {
    const r = outcome(this.watch.run('cp', ['-al', root, this.out('cp-al')]), 'cp -al');
    this.clean('cp-al');
    return r;
  }

  tarPipe(root: string): StepResult {
    fs.mkdirSync(this.out('tar-pipe'));
    const t = this.watch.shell('tar cf - -C "$1" . | tar xf - -C "$2"', [root, this.out('tar-pipe')]);
    this.clean('tar-pipe');
    return outcome(t, 'tar c | tar x');
  }

  /** Leaves `ref.tar.gz` for tarXzf unless told to drop the archive. */
  tarCzf(root: string, keep = true): StepResult {
    const t = this.watch.run('tar', ['czf', this.out('ref.tar.gz'), '-C', root, '.']);
    if (!keep) this.clean('ref.tar.gz');
    return outcome(t, 'tar czf');
  }

  tarXzf(): StepResult {
    fs.mkdirSync(this.out('tar-xzf'));
    const t = this.watch.run('tar', ['xzf', this.out('ref.tar.gz'), '-C', this.out('tar-xzf')]);
    this.clean('tar-xzf');
    this.clean('ref.tar.gz');
    return outcome(t, 'tar xzf');
  }

  /** `restic backup` into a fresh repository, then again with nothing changed. */
  restic(root: string): { first: StepResult; unchanged: StepResult } {
    if (this.tools.restic === null) {
      const missing: StepResult = { kind: 'missing', reason: 'restic not installed' };
      return { first: missing, unchanged: missing };
    }
    const env = {
      ...process.env,
      RESTIC_PASSWORD: 'bench',
      RESTIC_REPOSITORY: this.out('restic-repo'),
      RESTIC_CACHE_DIR: this.out('restic-cache'),
    };
    try {
      const init = this.watch.run('restic', ['init', '-q'], { env });
      if (init.status !== 0) {
        const failed: StepResult = { kind: 'failed', reason: `restic init exited ${init.status}: ${firstLine(init.stderr)}` };
        return { first: failed, unchanged: failed };
      }
      const first = outcome(this.watch.run('restic', ['backup', '-q', root], { env }), 'restic backup');
      const unchanged = outcome(this.watch.run('restic', ['backup', '-q', root], { env }), 'restic backup');
      return { first, unchanged };
    } finally {
      this.clean('restic-repo');
      this.clean('restic-cache');
    }
  }

  /**
   * What verify does, with stock tools: every file under `dir` read and hashed by `openssl dgst
   * -sha256`, `processes` of them at a time over batches of 1,024 names (fewer would mostly time openssl starting) (find -print0, so any name).
   */
  hashTree(dir: string, processes: number): StepResult {
    if (this.tools.openssl === null) return { kind: 'missing', reason: 'openssl not installed' };
    const t = this.watch.shell('find "$1" -type f -print0 | xargs -0 -P "$2" -n 1024 openssl dgst -sha256 > /dev/null', [dir, String(processes)]);
    return outcome(t, 'find | xargs openssl dgst');
  }

  /** `sqlite3 DB .backup` of every database of the home, timed together. */
  sqliteBackup(databases: string[]): StepResult {
    if (this.tools.sqlite3 === null) return { kind: 'missing', reason: 'sqlite3 not installed' };
    fs.mkdirSync(this.out('sqlite'));
    try {
      let wallMs = 0;
      let cpuMs = 0;
      let rssKiB = 0;
      for (const [i, db] of databases.entries()) {
        const dest = path.join(this.out('sqlite'), `${i}.sqlite`);
        const t = this.watch.run('sqlite3', [db, `.backup "${dest}"`]);
        if (t.status !== 0) return outcome(t, 'sqlite3 .backup');
        wallMs += t.wallMs;
        cpuMs += t.cpuMs ?? 0;
        rssKiB = Math.max(rssKiB, t.rssKiB ?? 0);
      }
      return { kind: 'timed', wallMs, cpuMs, rssKiB };
    } finally {
      this.clean('sqlite');
    }
  }
}
