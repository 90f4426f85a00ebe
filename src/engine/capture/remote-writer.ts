import fs from 'node:fs';
import path from 'node:path';
import type { BundleEntry, QuickCheckedCopy, SkippedEntry } from '../../manifest/bundle-manifest.js';
import { fsPath } from '../../fs-safety/fs-path.js';
import type { Transport } from '../../transport/index.js';
import { bundleFileMode } from '../bundle/file-mode.js';
import { capturedIdentity, sourceIdentityKey } from '../bundle/source-identity.js';
import type { EngineDeps } from '../deps.js';
import type { RemoteListing } from '../sandbox/remote-scan.js';
import type { ScannedEntry } from '../sandbox/scan.js';
import { contentFields, hardLink } from './bundle-writer.js';
import type { LinkSources } from './link-sources.js';
import { probeDatabaseMethod, RemoteDatabaseCapture, type DatabaseOutcome } from './remote-databases.js';
import { fetchFiles, type RemoteFileJob } from './remote-files.js';

interface Pending {
  entry: BundleEntry;
  scanned: ScannedEntry;
}

export const WITHOUT_SQLITE = 'captured without SQLite in the sandbox';

/**
 * The payload of a snapshot taken through a transport: dirs and links made from the scan; files
 * unchanged since the newest bundle holding them (same size, mtime, inode, mode; for a database
 * also its -wal's) hard-linked here; only new or changed files streamed, in one tar; databases
 * through SQLite in the target (remote-databases.ts). Same bookkeeping as BundleWriter.
 */
export class RemoteBundleWriter {
  linked = 0;
  copied = 0;
  copiedBytes = 0;
  transferredBytes = 0;
  readonly databases: string[] = [];
  /** As BundleWriter's: the database copies that passed quick_check, with their sha256. */
  readonly quickChecked: QuickCheckedCopy[] = [];
  readonly vanished = new Set<string>();
  readonly unreadable: SkippedEntry[] = [];
  readonly degraded: SkippedEntry[] = [];
  readonly missedDatabases: SkippedEntry[] = [];
  /** Databases copied raw and made self-contained here: the target has neither python3's sqlite3 nor sqlite3. */
  readonly withoutSqlite: string[] = [];
  private done = { files: 0, bytes: 0 };

  constructor(
    private readonly payload: string,
    private readonly previous: LinkSources,
    private readonly listing: RemoteListing,
    private readonly transport: Transport,
    /** The prefix of temp paths in the target (beside the root) for database backups. */
    private readonly remotePrefix: string,
    private readonly deps: EngineDeps,
  ) {}

  async writeAll(scannedEntries: ScannedEntry[]): Promise<BundleEntry[]> {
    const entries: BundleEntry[] = [];
    const files: Pending[] = [];
    const databases: Pending[] = [];
    for (const [slot, scanned] of scannedEntries.entries()) {
      const entry = this.writeCheap(scanned, slot);
      entries.push(entry);
      if (entry.type !== 'file' || entry.sha256 !== undefined) continue;
      (this.listing.stats.get(scanned.source)?.sqlite === true ? databases : files).push({ entry, scanned });
    }
    await this.fetch(files);
    this.deps.fault?.('create:mid-copy');
    if (databases.length > 0) await this.captureDatabases(databases);
    return entries;
  }

  private walOf(source: string): { walSize: number; walMtimeMs: number } {
    const wal = this.listing.stats.get(`${source}-wal`);
    return wal ? { walSize: wal.size, walMtimeMs: wal.mtimeMs } : { walSize: -1, walMtimeMs: -1 };
  }

  /** Dirs and links are made here; an unchanged file is hard-linked (its entry then has its hash); others are left to fetch. */
  private writeCheap(scanned: ScannedEntry, slot: number): BundleEntry {
    const dest = this.destOf(scanned.path);
    const base: BundleEntry = { path: scanned.path, type: scanned.type, module: scanned.module };
    if (scanned.agent !== undefined) base.agent = scanned.agent;
    if (scanned.type === 'dir') {
      fs.mkdirSync(fsPath(dest), { mode: 0o700 });
      return { ...base, mode: scanned.stat.mode & 0o7777 };
    }
    if (scanned.type === 'symlink') {
      fs.symlinkSync(fsPath(scanned.target!), fsPath(dest));
      return { ...base, target: scanned.target! };
    }
    const stat = scanned.stat;
    const entry: BundleEntry = { ...base, mode: stat.mode & 0o7777, size: stat.size, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino };
    const prior = this.previous.get(slot);
    if (prior === undefined) return entry;
    const database = prior.entry.strategy === 'sqlite_backup';
    const captured = capturedIdentity(prior.entry);
    if (captured === undefined || captured !== sourceIdentityKey(stat, database ? this.walOf(scanned.source) : undefined)) return entry;
    if (!hardLink(this.previous.fileOf(scanned.path, prior), dest)) return entry;
    this.linked++;
    if (database) this.databases.push(entry.path);
    if (database && prior.quickChecked) this.quickChecked.push({ path: entry.path, sha256: prior.entry.sha256! });
    this.deps.events.file?.(entry.path, 'linked');
    this.tick(1, stat.size);
    return { ...entry, ...contentFields(prior.entry) };
  }

  private async fetch(files: Pending[]): Promise<void> {
    const jobs: RemoteFileJob[] = files.map(({ entry, scanned }) => ({ source: scanned.source, dest: this.destOf(entry.path), mode: bundleFileMode(entry.mode ?? 0o600) }));
    let inFile = 0;
    const outcome = await fetchFiles(this.transport, jobs, (bytes) => {
      inFile += bytes;
      this.tick(0, bytes);
    });
    this.transferredBytes += outcome.transferredBytes;
    for (const { entry, scanned } of files) {
      const got = outcome.fetched.get(scanned.source);
      if (got === undefined) {
        const denied = outcome.complaints.some((line) => /ermission denied/.test(line) && line.includes(scanned.source.slice(1)));
        if (denied) {
          this.unreadable.push({ path: entry.path, reason: 'unreadable (EACCES)' });
          this.deps.events.warning?.(`${entry.path} is unreadable in the target (EACCES); skipped`);
        }
        this.vanished.add(entry.path);
        continue;
      }
      Object.assign(entry, { sha256: got.sha256, size: got.size });
      // Changed between the scan and the copy: never let a later snapshot link to this copy by the scan's identity.
      if (got.size !== scanned.stat.size) delete entry.ino;
      this.copied++;
      this.copiedBytes += got.size;
      this.deps.events.file?.(entry.path, 'copied');
    }
    this.tick(files.length, 0);
  }

  private async captureDatabases(databases: Pending[]): Promise<void> {
    const method = this.listing.databaseMethod ?? (await probeDatabaseMethod(this.transport));
    const scratch = fs.mkdtempSync(path.join(path.dirname(this.payload), '.remote-db-'));
    const capture = new RemoteDatabaseCapture(this.transport, method, this.remotePrefix, scratch, this.deps.sqliteWaitMs ?? 10_000);
    try {
      const files = databases.map((_, i) => path.join(scratch, `copy-${i}`));
      const outcomes = await capture.captureAll(
        databases.map(({ entry, scanned }) => ({ label: entry.path, source: scanned.source, hasWal: this.walOf(scanned.source).walSize >= 0 })),
        files,
      );
      databases.forEach(({ entry, scanned }, i) => this.recordDatabase(entry, scanned, outcomes[i]!, files[i]!));
    } finally {
      this.transferredBytes += capture.transferredBytes;
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  private recordDatabase(entry: BundleEntry, scanned: ScannedEntry, outcome: DatabaseOutcome, file: string): void {
    if (outcome.kind === 'busy') {
      this.missedDatabases.push({ path: entry.path, reason: `database not captured: ${outcome.reason}` });
      this.deps.events.warning?.(`${entry.path}: database not captured (${outcome.reason})`);
      this.vanished.add(entry.path);
      return;
    }
    fs.chmodSync(file, bundleFileMode(entry.mode ?? 0o600));
    fs.renameSync(file, fsPath(this.destOf(entry.path)));
    const journalMode = this.listing.stats.get(scanned.source)?.walMode === true ? 'wal' : 'delete';
    Object.assign(entry, { strategy: 'sqlite_backup', journalMode, size: outcome.size, sha256: outcome.sha256, sourceSize: scanned.stat.size, ...this.walOf(scanned.source) });
    this.databases.push(entry.path);
    // Either way the copy was quick_checked here (remote-databases.ts) before its bytes were hashed.
    this.quickChecked.push({ path: entry.path, sha256: outcome.sha256 });
    if (outcome.method === 'raw') {
      this.withoutSqlite.push(entry.path);
      this.deps.events.warning?.(`${entry.path}: ${WITHOUT_SQLITE} (copied raw with its -wal, made self-contained and checked here)`);
    }
    this.copied++;
    this.copiedBytes += outcome.size;
    this.deps.events.file?.(entry.path, 'copied');
  }

  private destOf(rel: string): string {
    return this.payload + '/' + rel;
  }

  private tick(files: number, bytes: number): void {
    this.done.files += files;
    this.done.bytes += bytes;
    this.deps.events.progress?.({ ...this.done });
  }
}
