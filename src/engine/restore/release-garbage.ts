import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | null | undefined;

/**
 * Below this much live-and-dead heap a collection is not asked for: it costs ~25-30 ms whatever the
 * heap's size and frees a MiB or two there (measured: `large` restore, 13-16 MB used at these points;
 * `xlarge`, 30-50 MB, of which the collection frees 5-20).
 */
export const GARBAGE_WORTH_BYTES = 24 * 1024 * 1024;

/**
 * A full, compacting collection of this thread's heap, where V8 lets one be asked for (undefined:
 * not yet asked; null: it cannot be). Planning a large restore leaves megabytes of dead objects in
 * the old generation that no collection has reached yet: V8 would only collect them once the heap
 * grew further, so they stay resident through staging, the restore's peak (measured on the xlarge
 * home: ~10 MiB less resident memory, for one collection of a few tens of ms). A small heap is left as it is.
 */
export function releaseGarbage(): void {
  if (v8.getHeapStatistics().used_heap_size < GARBAGE_WORTH_BYTES) return;
  if (collect === undefined) collect = exposedCollector();
  collect?.();
}

/** The `gc` function a fresh context gets once the flag that exposes it is set (the way Node's documentation shows for v8.setFlagsFromString). */
function exposedCollector(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? () => void (gc as () => unknown)() : null;
  } catch {
    return null;
  }
}
