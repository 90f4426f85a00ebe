import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { GARBAGE_WORTH_BYTES, releaseGarbage } from '../../src/engine/restore/release-garbage.js';

describe('releaseGarbage', () => {
  it('collects objects of a heap past GARBAGE_WORTH_BYTES no longer referenced before the heap would next have collected them', () => {
    releaseGarbage();
    const before = v8.getHeapStatistics().used_heap_size;
    // ~20 MiB of small objects, promoted to the old generation by the scavenges their allocation triggers, then dropped.
    let held: Array<{ text: string }> | undefined = Array.from({ length: 200_000 }, (_, i) => ({ text: `entry-${i}-${'x'.repeat(64)}` }));
    const grown = v8.getHeapStatistics().used_heap_size;
    expect(grown - before).toBeGreaterThan(10 * 1024 * 1024);
    expect(grown).toBeGreaterThan(GARBAGE_WORTH_BYTES);
    expect(held.length).toBe(200_000);
    held = undefined;
    releaseGarbage();
    expect(v8.getHeapStatistics().used_heap_size - before).toBeLessThan(4 * 1024 * 1024);
  });
});
