import type { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type cliProgressTypes from 'cli-progress';
import type { Progress } from '../engine/deps.js';
import { formatBytes } from './present/format.js';

/** The engine reports every step; the bar is redrawn at most this often. */
const REDRAW_MS = 100;
/** A phase shorter than this shows no bar at all. */
const DEFAULT_DELAY_MS = 1000;
const CLEAR_LINE = '\r\u001b[2K';

/** Colour on stderr: a terminal, and NO_COLOR unset or empty (no-color.org: "present and not an empty string"). */
export function colorAllowed(io: { stderrIsTTY: boolean; env: NodeJS.ProcessEnv }): boolean {
  return io.stderrIsTTY && (io.env.NO_COLOR === undefined || io.env.NO_COLOR === '');
}

/** Test-only: CLAWBACK_PROGRESS_DELAY_MS=0 shows the bar at once, so a test of it needs no large home. */
export function progressDelayMs(env: NodeJS.ProcessEnv): number {
  const raw = env.CLAWBACK_PROGRESS_DELAY_MS;
  const ms = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_DELAY_MS;
}

/** "1.2 MB/s"; nothing until there is a second's worth to measure. */
function rateText(bytes: number, elapsedMs: number): string {
  return elapsedMs < 1 ? '-' : `${formatBytes(Math.round((bytes * 1000) / elapsedMs))}/s`;
}

/** "ETA 12s", "ETA 3m 5s", from the byte rate so far. */
function etaText(done: number, total: number, elapsedMs: number): string {
  if (done >= total) return 'ETA 0s';
  if (done === 0 || elapsedMs < 1) return 'ETA -';
  const seconds = Math.ceil(((total - done) * elapsedMs) / done / 1000);
  return seconds < 60 ? `ETA ${seconds}s` : `ETA ${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}

/**
 * A bar on stderr when it is a terminal (colour or not), once a phase with known totals has run for
 * about a second: the phase, files and bytes done, the rate and the ETA. Silent otherwise.
 */
export class ProgressReporter {
  private bar: cliProgressTypes.SingleBar | undefined;
  private phaseStarted = 0;
  private lastDrawn = 0;
  private totals: Progress | undefined;
  private name = '';

  constructor(
    private readonly stream: Writable,
    private readonly enabled: boolean,
    private readonly delayMs: number = DEFAULT_DELAY_MS,
  ) {}

  phase(name: string, totals?: Progress): void {
    this.stop();
    this.name = name;
    this.totals = totals;
    this.phaseStarted = Date.now();
    this.lastDrawn = 0;
  }

  update(done: Progress): void {
    if (!this.enabled || !this.totals || (this.totals.bytes === 0 && this.totals.files === 0)) return;
    const now = Date.now();
    const finished = done.files >= this.totals.files && done.bytes >= this.totals.bytes;
    if (now - this.lastDrawn < REDRAW_MS && !finished) return;
    this.lastDrawn = now;
    if (!this.bar) {
      if (now - this.phaseStarted < this.delayMs) return;
      this.bar = this.startBar(this.totals);
    }
    const elapsed = now - this.phaseStarted;
    this.bar.update(this.byBytes() ? done.bytes : done.files, {
      doneFiles: done.files,
      doneBytes: formatBytes(done.bytes),
      rate: rateText(done.bytes, elapsed),
      remaining: this.byBytes() ? etaText(done.bytes, this.totals.bytes, elapsed) : etaText(done.files, this.totals.files, elapsed),
    });
  }

  /** A line above the bar (--verbose): the bar is cleared, the line written, and the bar redrawn by the next update. */
  log(line: string): void {
    if (this.bar) {
      this.stream.write(CLEAR_LINE);
      this.lastDrawn = 0;
    }
    this.stream.write(line + '\n');
  }

  /** Clears the bar's line without ending it (before a warning). */
  clearLine(): void {
    if (this.bar) this.stream.write(CLEAR_LINE);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  /** A phase of empty files (or only databases) still counts files. */
  private byBytes(): boolean {
    return (this.totals?.bytes ?? 0) > 0;
  }

  private startBar(totals: Progress): cliProgressTypes.SingleBar {
    // Loaded only when a bar is shown, so short commands and --help don't pay for it.
    const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressTypes;
    const bar = new cliProgress.SingleBar(
      {
        stream: this.stream as NodeJS.WriteStream,
        format: `${this.name} [{bar}] {percentage}% {doneFiles}/{totalFiles} files {doneBytes}/{totalBytes} {rate} {remaining}`,
        barsize: 20,
        hideCursor: true,
        clearOnComplete: true,
        // Our own redraw throttle decides; the bar draws what it is given.
        fps: 1000 / REDRAW_MS,
      },
      cliProgress.Presets.legacy,
    );
    bar.start(this.byBytes() ? totals.bytes : totals.files, 0, { doneFiles: 0, totalFiles: totals.files, doneBytes: formatBytes(0), totalBytes: formatBytes(totals.bytes), rate: '-', remaining: 'ETA -' });
    return bar;
  }
}
