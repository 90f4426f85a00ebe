import type { RemoteListing, RemoteStat } from '../sandbox/remote-scan.js';
import type { LiveChild, LiveStat, LiveType, LiveView } from './live-view.js';

/** A remote directory as its probe found it: where it really lives. */
export interface ProbedDir {
  dir: string;
  real: string;
}

function typeOf(stat: RemoteStat): LiveType {
  return stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : 'special';
}

/**
 * A remote target's live state as planning sees it: the listing of the directories the restore swaps
 * (sandbox/remote-scan.ts, the one create uses), and the text of the few files planning reads (configs
 * to merge). A text planning asks for that was not fetched is recorded in `missing`: the caller
 * fetches those and plans again (planning is pure).
 */
export class RemoteLiveView implements LiveView {
  private readonly real = new Map<string, string>();
  readonly texts = new Map<string, string | undefined>();
  readonly missing = new Set<string>();

  constructor(
    probes: readonly ProbedDir[],
    private readonly listing: RemoteListing,
  ) {
    for (const probe of probes) this.real.set(probe.dir, probe.real);
  }

  lstat(abs: string): LiveStat | undefined {
    const stat = this.listing.stats.get(abs);
    return stat && { type: typeOf(stat), mode: stat.mode & 0o7777, size: stat.size, mtimeMs: stat.mtimeMs };
  }

  children(dir: string): LiveChild[] {
    return (this.listing.children.get(dir) ?? []).map((name) => ({ name, type: typeOf(this.listing.stats.get(`${dir}/${name}`)!) }));
  }

  /** The listing read every directory it could; an unreadable file shows when tar or ln fails in the target. */
  readable(): boolean {
    return true;
  }

  linkTarget(abs: string): string {
    return this.listing.links.get(abs) ?? '';
  }

  realpathLoose(abs: string): string {
    return this.real.get(abs) ?? abs;
  }

  readText(abs: string): string | undefined {
    if (this.texts.has(abs)) return this.texts.get(abs);
    if (this.lstat(abs)?.type !== 'file') return undefined;
    this.missing.add(abs);
    return undefined;
  }
}
