import fs from 'node:fs';

/** The granularity of holes: a filesystem block, the smallest run of zeros that can be left unallocated. */
const BLOCK = 4096;
const ZEROS = Buffer.alloc(BLOCK);

/** Whether a file takes less room on disk than its length says (st_blocks counts 512-byte units): it has holes. */
export function hasHoles(stat: { size: number; blocks: number }): boolean {
  return stat.blocks * 512 < stat.size;
}

/**
 * Writes a file's bytes in order, leaving every all-zero block as a hole: the non-zero runs go out
 * as positioned writes and `finish` sets the length, so trailing zeros cost nothing either. Node has
 * no SEEK_DATA/SEEK_HOLE (and a reflink copy does not make holes), so holes are found by comparing
 * each block with zeros as it passes; that is a memcmp, cheap against the sha256 of the same bytes.
 * Returns from `finish` whether any block was left as a hole.
 */
export class SparseWriter {
  private position = 0;
  private holes = false;

  constructor(private readonly fd: number) {}

  write(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const zeroEnd = this.zeroRunEnd(chunk, start);
      if (zeroEnd > start) {
        this.holes = true;
        start = zeroEnd;
        continue;
      }
      let end = start + BLOCK;
      while (end < chunk.length && this.zeroRunEnd(chunk, end) === end) end += BLOCK;
      end = Math.min(end, chunk.length);
      this.writeAt(chunk.subarray(start, end), this.position + start);
      start = end;
    }
    this.position += chunk.length;
  }

  finish(): boolean {
    if (this.holes) fs.ftruncateSync(this.fd, this.position);
    return this.holes;
  }

  /** The end of the run of whole zero blocks starting at `start` (`start` itself when there is none). A short last block is written, not skipped. */
  private zeroRunEnd(chunk: Uint8Array, start: number): number {
    let end = start;
    while (end + BLOCK <= chunk.length && ZEROS.equals(chunk.subarray(end, end + BLOCK))) end += BLOCK;
    return end;
  }

  private writeAt(bytes: Uint8Array, position: number): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, position + done);
  }
}
