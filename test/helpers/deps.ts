import path from 'node:path';
import { hostFacts, monotonicClock } from '../../src/cli/host.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { homeLayout } from '../../src/store/home.js';

export interface TestDepsOptions {
  /** Lets a test choose each snapshot's timestamp by setting `clock.now`. */
  clock?: { now: Date };
  /** Collects the engine's warnings. */
  warnings?: string[];
  /** Called at each named fault point (throw to simulate a failure there). */
  fault?: (point: string) => void;
}

/** Engine deps for in-process tests: the home's layout, no lock wait, no progress output. */
export function testDeps(home: string, options: TestDepsOptions = {}): EngineDeps {
  const clock = options.clock ?? { now: new Date() };
  const warnings = options.warnings;
  return {
    layout: homeLayout(home),
    now: () => clock.now,
    events: warnings ? { warning: (message) => warnings.push(message) } : {},
    toolVersion: 'test',
    lockWaitMs: 0,
    clock: monotonicClock,
    host: hostFacts(path.dirname(home)),
    ...(options.fault ? { fault: options.fault } : {}),
  };
}
