import { InterruptedError } from '../../errors.js';
import type { EngineDeps } from '../deps.js';

/** How often staging lets the event loop run, so a Ctrl-C reaches deps.signal while files are copied. */
const YIELD_EVERY_MS = 50;

/** Thrown before the swap's commit point, so the caller rolls back: the live state is as it was. */
export function interruptedBeforeCommit(target: string): InterruptedError {
  return new InterruptedError(`interrupted: the restore was rolled back; the state of ${target} is unchanged`);
}

/**
 * The restore's view of deps.signal (a Ctrl-C, injected by the CLI). `check()` between files throws
 * once it is aborted; `breathe()` also yields to the event loop now and then, since staging is
 * mostly synchronous and the signal's handler can only run between turns.
 */
export class InterruptCheck {
  private lastYield: number;

  constructor(
    private readonly deps: EngineDeps,
    private readonly target: string,
  ) {
    this.lastYield = deps.clock();
  }

  get aborted(): boolean {
    return this.deps.signal?.aborted === true;
  }

  check(): void {
    if (this.aborted) throw interruptedBeforeCommit(this.target);
  }

  /** `force`: yield now, so a Ctrl-C already pending is seen (the last check before the commit point). */
  async breathe(force = false): Promise<void> {
    if (this.deps.signal === undefined) return;
    const now = this.deps.clock();
    if (force || now - this.lastYield >= YIELD_EVERY_MS) {
      this.lastYield = now;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.check();
  }

  /** Waits for `work`, but stops waiting (and throws) as soon as the signal is aborted. */
  async unlessInterrupted<T>(work: Promise<T>): Promise<T> {
    const signal = this.deps.signal;
    if (signal === undefined) return work;
    this.check();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(interruptedBeforeCommit(this.target));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([work, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }
}
