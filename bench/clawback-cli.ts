import path from 'node:path';
import type { Stopwatch, Timing } from './measure.js';

/** One timed clawback command: its measurement, or why there is none. */
export type StepResult =
  | { kind: 'timed'; wallMs: number; cpuMs: number | null; rssKiB: number | null; detail?: Record<string, number> }
  | { kind: 'missing'; reason: string }
  | { kind: 'failed'; reason: string };

export const USAGE_EXIT = 2;

/** Runs the built launcher (`bin/clawback.js`, as a user runs it) against one clawback home. */
export class ClawbackCli {
  private readonly bin: string;

  constructor(
    private readonly watch: Stopwatch,
    repo: string,
    readonly home: string,
    /** Extra environment for every run (CLAWBACK_SSH_CONFIG, RESTIC_PASSWORD_FILE). */
    private readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.bin = path.join(repo, 'bin', 'clawback.js');
  }

  run(args: string[]): Timing {
    // The launcher itself, as a user runs it (it starts node with its own flags).
    return this.watch.run(this.bin, args, {
      env: { ...process.env, ...this.extraEnv, CLAWBACK_HOME: this.home, NO_COLOR: '1' },
      nodeLauncher: true,
    });
  }

  /** Runs a command that must succeed (setup steps); throws with its stderr otherwise. */
  must(args: string[]): Timing {
    const t = this.run(args);
    if (t.status !== 0) throw new Error(`clawback ${args.join(' ')} exited ${t.status}: ${t.stderr.trim()}`);
    return t;
  }

  /** Runs a measured step; "unknown command" (exit 2) means this build lacks it. */
  step(args: string[], expectExit = 0): { result: StepResult; timing: Timing } {
    const timing = this.run(args);
    return { result: stepResult(timing, expectExit), timing };
  }
}

/** What the binary says for a command or snapshot verb it does not have. */
const UNKNOWN = /unknown (command|snapshot verb)/;

export function stepResult(t: Timing, expectExit = 0): StepResult {
  if (t.status === USAGE_EXIT && UNKNOWN.test(t.stderr)) return { kind: 'missing', reason: 'n/a (command not in this build)' };
  if (t.status !== expectExit) return { kind: 'failed', reason: `exit ${t.status}: ${firstLine(t.stderr)}` };
  return { kind: 'timed', wallMs: t.wallMs, cpuMs: t.cpuMs, rssKiB: t.rssKiB };
}

/**
 * Whether a hidden `snapshot-VERB` command is registered in the built binary.
 * `VERB --help` cannot tell (commander shows the program's help for an unknown
 * command), but running it bare fails with "unknown command" (or "unknown snapshot verb") only when
 * it is missing.
 */
export function hasCommand(cli: ClawbackCli, command: string): boolean {
  const t = cli.run([command]);
  return !(t.status === USAGE_EXIT && UNKNOWN.test(t.stderr));
}

/** Whether `sandbox add` takes `--via` (issue 14's transports) in the built binary. */
export function hasVia(cli: ClawbackCli): boolean {
  return /--via\b/.test(cli.run(['sandbox', 'add', '--help']).stdout);
}

/** The line that says what went wrong: a crash's "Error: ..." line rather than its source excerpt. */
export function firstLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.find((l) => /^(\w*Error\b|error:)/.test(l)) ?? lines[0] ?? '').slice(0, 160);
}

export function parseJson(t: Timing): unknown {
  try {
    return JSON.parse(t.stdout) as unknown;
  } catch {
    return undefined;
  }
}

/** Reads a nested field of parsed JSON without trusting its shape. */
export function field(value: unknown, ...keys: string[]): unknown {
  let v = value;
  for (const key of keys) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
