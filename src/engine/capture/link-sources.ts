import path from 'node:path';
import { ClawbackError } from '../../errors.js';
import { PAYLOAD_DIR, type BundleEntry } from '../../manifest/bundle-manifest.js';
import { completeBundles, openInventory, type BundleRecord } from '../../store/bundles.js';
import type { EngineDeps } from '../deps.js';

/** Where an unchanged file may be hard-linked from: the entry that captured it, and the payload dir of its bundle. */
export interface LinkSource {
  entry: BundleEntry;
  payload: string;
  /** A database copy its bundle records as quick_checked with these very bytes (the header's quickCheckedDatabases). */
  quickChecked: boolean;
}

/** Per file the snapshot will write (by its slot, the caller's index for it), the newest earlier capture of it; `fileOf` names its file in that bundle. */
export interface LinkSources {
  /** Built on demand from the columns: hold it only as long as it is used. */
  get(slot: number): LinkSource | undefined;
  fileOf(path: string, source: LinkSource): string;
}

const NONE = -1;
const SHA_BYTES = 32;
const HEX_SHA = /^[0-9a-f]{64}$/;
/** The fields only a database's entry (or an old bundle's odd one) has: kept aside, per slot. */
type Rare = Pick<BundleEntry, 'strategy' | 'journalMode' | 'walSize' | 'walMtimeMs' | 'sourceSize' | 'sha256'>;

/**
 * The kept fields of the previous captures, one column each, indexed by slot: about 70 bytes a
 * file, where an object per file cost several hundred. A number column holds NaN for a field the
 * entry did not have.
 */
class SourceColumns {
  readonly bundle: Int32Array;
  private readonly numbers: Float64Array;
  private readonly modes: Int32Array;
  private readonly sparse: Uint8Array;
  private readonly sha: Buffer;
  readonly quickChecked: Uint8Array;
  private readonly rare = new Map<number, Rare>();

  constructor(slots: number) {
    this.bundle = new Int32Array(slots).fill(NONE);
    this.numbers = new Float64Array(slots * 4);
    this.modes = new Int32Array(slots);
    this.sparse = new Uint8Array(slots);
    this.sha = Buffer.alloc(slots * SHA_BYTES);
    this.quickChecked = new Uint8Array(slots);
  }

  set(slot: number, bundle: number, entry: BundleEntry, quickChecked: boolean): void {
    this.bundle[slot] = bundle;
    this.quickChecked[slot] = quickChecked ? 1 : 0;
    this.numbers.set([entry.size!, entry.mtimeMs ?? NaN, entry.dev ?? NaN, entry.ino ?? NaN], slot * 4);
    this.modes[slot] = entry.mode ?? NONE;
    this.sparse[slot] = entry.sparse === true ? 1 : 0;
    const rare: Rare = {};
    if (HEX_SHA.test(entry.sha256!)) this.sha.write(entry.sha256!, slot * SHA_BYTES, SHA_BYTES, 'hex');
    else rare.sha256 = entry.sha256!;
    for (const key of ['strategy', 'journalMode', 'walSize', 'walMtimeMs', 'sourceSize'] as const) if (entry[key] !== undefined) Object.assign(rare, { [key]: entry[key] });
    if (Object.keys(rare).length > 0) this.rare.set(slot, rare);
    else this.rare.delete(slot);
  }

  /** The slimmed entry: the fields create compares and copies from a previous entry, no others. */
  entry(slot: number): BundleEntry {
    const at = slot * 4;
    const rare = this.rare.get(slot);
    const entry: BundleEntry = { path: '', type: 'file', module: '', size: this.numbers[at]!, sha256: rare?.sha256 ?? this.sha.toString('hex', slot * SHA_BYTES, (slot + 1) * SHA_BYTES) };
    if (this.modes[slot] !== NONE) entry.mode = this.modes[slot]!;
    const [mtimeMs, dev, ino] = [this.numbers[at + 1]!, this.numbers[at + 2]!, this.numbers[at + 3]!];
    if (!Number.isNaN(mtimeMs)) entry.mtimeMs = mtimeMs;
    if (!Number.isNaN(dev)) entry.dev = dev;
    if (!Number.isNaN(ino)) entry.ino = ino;
    if (rare !== undefined) {
      const { sha256: _sha, ...rest } = rare;
      Object.assign(entry, rest);
    }
    if (this.sparse[slot] === 1) entry.sparse = true;
    return entry;
  }
}

/**
 * For each file the snapshot will write (`wanted`: its path and slot), its entry in the newest
 * bundle that holds it. The newest bundle is read first, then older ones only for the paths still
 * unanswered, stopping at the newest full snapshot (it held everything then captured): a partial
 * snapshot between two full ones costs the next full one nothing. Inventories are streamed, and only
 * wanted files are kept, in columns. A NemoClaw bundle is never a source: nothing may ever change
 * it, not even its link counts.
 */
export function linkSources(records: BundleRecord[], wanted: ReadonlyMap<string, number>, deps: EngineDeps): LinkSources {
  let slots = 0;
  for (const slot of wanted.values()) slots = Math.max(slots, slot + 1);
  const columns = new SourceColumns(slots);
  const answered = new Uint8Array(slots);
  const payloads: string[] = [];
  let unanswered = wanted.size;
  const candidates = completeBundles(records).filter((r) => r.legacy === undefined).reverse();
  for (const record of candidates) {
    // A file captured raw there is tried through SQLite again (and named again), not linked silently.
    const degraded = new Set((record.header.degraded ?? []).map((d) => d.path));
    const checked = new Map((record.header.quickCheckedDatabases ?? []).map((c) => [c.path, c.sha256]));
    const bundle = payloads.push(path.join(record.dir, PAYLOAD_DIR)) - 1;
    const seen: number[] = [];
    try {
      for (const entry of openInventory(record.dir, record.header).entries()) {
        const slot = wanted.get(entry.path);
        if (slot === undefined || answered[slot] !== 0) continue;
        answered[slot] = 1;
        seen.push(slot);
        if (entry.type === 'file' && !degraded.has(entry.path)) columns.set(slot, bundle, entry, entry.strategy === 'sqlite_backup' && checked.get(entry.path) === entry.sha256);
      }
      unanswered -= seen.length;
    } catch (error) {
      // A damaged inventory only costs its links: none of it is used.
      if (!(error instanceof ClawbackError)) throw error;
      for (const slot of seen) {
        answered[slot] = 0;
        if (columns.bundle[slot] === bundle) columns.bundle[slot] = NONE;
      }
      deps.events.warning?.(`not reusing files of ${record.id}: ${error.message}`);
    }
    if (record.header.scope.full || unanswered === 0) break;
  }
  return {
    get: (slot) => {
      const bundle = slot < slots ? columns.bundle[slot]! : NONE;
      return bundle === NONE ? undefined : { entry: columns.entry(slot), payload: payloads[bundle]!, quickChecked: columns.quickChecked[slot] === 1 };
    },
    fileOf: (p, source) => `${source.payload}/${p}`,
  };
}
