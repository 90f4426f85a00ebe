import type { TarWriteEntry } from '../../formats/tar.js';
import type { ZipWriteEntry } from '../../formats/zip.js';
import { FileReader } from '../../fs-safety/file-reader.js';
import type { BundleEntry, BundleManifest, SkippedEntry } from '../../manifest/bundle-manifest.js';
import { readForArchive } from '../bundle/checked-read.js';
import type { EngineDeps } from '../deps.js';

/** The snapshot's entries an export keeps, and the files it leaves out (secrets). */
export interface Selected {
  entries: BundleEntry[];
  dropped: SkippedEntry[];
}

export const SECRETS_LEFT_OUT = 'secrets left out of the export (pass --include-secrets or --encrypt to keep them)';

export function selectEntries(bundle: BundleManifest, dropModule: (module: string) => boolean): Selected {
  const entries: BundleEntry[] = [];
  const dropped: SkippedEntry[] = [];
  for (const e of bundle.entries) {
    if (!dropModule(e.module)) entries.push(e);
    else if (e.type !== 'dir') dropped.push({ path: e.path, reason: SECRETS_LEFT_OUT });
  }
  return { entries, dropped };
}

/** What one format writes: the files it reads, what it leaves out, and the entry stream that reads them. */
interface PlanCommon {
  /** The files the archive holds, and their bytes before compression. */
  fileCount: number;
  fileBytes: number;
  /** Whether the snapshot holds secrets (files of a secrets module), and how many the archive leaves out. */
  secrets: { has: boolean; dropped: number };
  leftOut: SkippedEntry[];
  warnings: string[];
  qwenpawId: string | null;
  /** An output chosen by the plan (the QwenPaw backup dir), when the request has none. */
  output: string | undefined;
}

export type ArchivePlan =
  | (PlanCommon & { kind: 'tar'; entries(reader: CheckedReader): Iterable<TarWriteEntry> })
  | (PlanCommon & { kind: 'zip'; entries(reader: CheckedReader): Iterable<ZipWriteEntry> });

/**
 * Reads bundle files for the writers, checking each against the manifest:
 * small files whole (one buffer, handed on), large ones hashed in a first
 * pass and then streamed by the writer from the path.
 */
export class CheckedReader {
  private done = { files: 0, bytes: 0 };
  /** Its own, not the thread's: the tar writer holds a view across awaits. */
  private readonly reader = new FileReader();

  constructor(
    private readonly payload: string,
    private readonly deps: EngineDeps,
  ) {}

  /**
   * `reuse`: the buffer is a view of the reader's buffer, valid until the next
   * call. The tar writer copies an entry out before it asks for the next one;
   * the zip writer keeps several in flight, so it gets buffers of its own.
   */
  content(entry: BundleEntry, reuse = false): { buffer: Buffer } | { file: string } {
    const result = readForArchive(`${this.payload}/${entry.path}`, entry, this.reader);
    this.done.files++;
    this.done.bytes += entry.size ?? 0;
    this.deps.events.progress?.({ ...this.done });
    return 'buffer' in result && !reuse ? { buffer: Buffer.from(result.buffer) } : result;
  }
}
