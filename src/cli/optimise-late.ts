/** CPU time (µs, every thread's) a short command spends before V8's optimising compiler is let back in (optimiseLate). */
const OPTIMISE_AFTER_CPU_US = 1_500_000;
const OPTIMISE_POLL_MS = 200;

/**
 * Keeps V8's optimising compiler (TurboFan) out of a short command until it has used 1.5 s of CPU,
 * and lets it back in after that. A plain verify (the large home's takes ~0.9 s of CPU) and a push
 * (its check runs beside restic's start) are mostly over by then, and in so short a process
 * compiling the hot functions on background threads cost more CPU than it saved (verify of large:
 * ~1.03 s -> 0.89 s of CPU, peak RSS 85 -> 77 MiB; an unchanged re-push: ~0.08 s of wall); a longer
 * one (verify --all of several 1.5 GB bundles) gains from it again. CPU time, not wall time, so a
 * busy machine does not bring it back early. The flag is the process's, so it holds for worker
 * threads too (those started after).
 */
let started = false;

export async function optimiseLate(): Promise<void> {
  // Once per process: the launcher may have asked already (verify-early.ts).
  if (started) return;
  started = true;
  const v8 = await import('node:v8');
  // A node that froze its flags after start refuses the change: the command then runs as it would have.
  if (!setFlag(v8, '--no-opt')) return;
  const poll = setInterval(() => {
    const { user, system } = process.cpuUsage();
    if (user + system < OPTIMISE_AFTER_CPU_US) return;
    setFlag(v8, '--opt');
    clearInterval(poll);
  }, OPTIMISE_POLL_MS);
  poll.unref();
}

function setFlag(v8: typeof import('node:v8'), flag: string): boolean {
  try {
    v8.setFlagsFromString(flag);
    return true;
  } catch {
    return false;
  }
}
