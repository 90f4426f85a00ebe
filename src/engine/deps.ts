import type { HomeLayout } from '../store/home.js';

export interface Progress {
  files: number;
  bytes: number;
}

/** How the engine reports; every method optional, so tests and --quiet pass nothing. */
export interface EngineEvents {
  phase?(name: string, totals?: Progress): void;
  progress?(done: Progress): void;
  warning?(message: string): void;
}

export interface EngineDeps {
  layout: HomeLayout;
  now: () => Date;
  events: EngineEvents;
  toolVersion: string;
  /** How long to wait for a held sandbox lock, in ms. */
  lockWaitMs: number;
  /** Test-only crash points; the CLI wires this to CLAWBACK_TEST_FAULT. */
  fault?: (point: string) => void;
}
