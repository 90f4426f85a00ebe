import type { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type cliProgressTypes from 'cli-progress';
import type { Progress } from '../engine/deps.js';
import { formatBytes } from './present/format.js';

/** The engine reports every step; the bar is redrawn at most this often. */
const REDRAW_MS = 100;

/** Shows a bar on a TTY once a phase has run for about a second; silent otherwise. */
export class ProgressReporter {
  private bar: cliProgressTypes.SingleBar | undefined;
  private phaseStarted = 0;
  private lastDrawn = 0;
  private totals: Progress | undefined;
  private name = '';

  constructor(
    private readonly stream: Writable,
    private readonly enabled: boolean,
  ) {}

  phase(name: string, totals?: Progress): void {
    this.stop();
    this.name = name;
    this.totals = totals;
    this.phaseStarted = Date.now();
  }

  update(done: Progress): void {
    if (!this.enabled || !this.totals || this.totals.bytes === 0) return;
    const now = Date.now();
    if (now - this.lastDrawn < REDRAW_MS) return;
    this.lastDrawn = now;
    if (!this.bar) {
      if (now - this.phaseStarted < 1000) return;
      // Loaded only when a bar is shown, so short commands and --help don't pay for it.
      const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressTypes;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream as NodeJS.WriteStream,
          format: `${this.name} [{bar}] {percentage}% | {doneFiles}/{totalFiles} files | {doneBytes}/{totalBytes}`,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.totals.bytes, 0, { doneFiles: 0, totalFiles: this.totals.files, doneBytes: '0 B', totalBytes: formatBytes(this.totals.bytes) });
    }
    this.bar.update(done.bytes, { doneFiles: done.files, doneBytes: formatBytes(done.bytes) });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
