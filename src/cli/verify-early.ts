import { availableParallelism } from 'node:os';
import { prestartHashers } from '../engine/verify/prestart.js';
import { optimiseLate } from './optimise-late.js';

/**
 * What the launcher (bin/clawback.js) does first for a `<name> snapshot verify ...`, while the CLI
 * itself still loads: V8's optimising compiler kept out (optimise-late.ts), then the hashing workers
 * started (prestart.ts), so that they boot beside the CLI's module loading rather than after it.
 * Whatever the command turns out to be, this changes nothing it does: a verify adopts the workers
 * (or lets them go when its bundle is too small), and any other ending leaves them unreferenced,
 * which does not keep the process alive.
 */
export async function startVerifyEarly(): Promise<void> {
  await optimiseLate();
  prestartHashers(availableParallelism());
}
