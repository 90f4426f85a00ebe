/**
 * Ctrl-C for one process. By default it ends the process at once (exit 130): nothing has changed
 * yet, or the journal lets the next command roll back. A command that can roll back by itself
 * (restore) takes interrupts over for its duration: Ctrl-C then only aborts `signal`, which the
 * engine checks between files, and the command ends with the engine's own result.
 */
export class InterruptGate {
  private readonly controller = new AbortController();
  private holders = 0;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** While taken over, Ctrl-C aborts the signal instead of exiting; call the returned function to give it back. */
  takeOver(): () => void {
    this.holders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
    };
  }

  /** A Ctrl-C: true when a command took it over (the signal is now aborted), false when the process should exit. */
  interrupt(): boolean {
    if (this.holders === 0) return false;
    this.controller.abort();
    return true;
  }
}
