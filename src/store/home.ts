import path from 'node:path';

/** Every path clawback keeps under its home, in one place. */
export interface HomeLayout {
  home: string;
  registry: string;
  bundlesRoot: string;
  locks: string;
  journals: string;
  sandboxesDir: string;
}

export function homeLayout(home: string): HomeLayout {
  return {
    home,
    registry: path.join(home, 'sandboxes.json'),
    bundlesRoot: path.join(home, 'rebuild-backups'),
    locks: path.join(home, 'locks'),
    journals: path.join(home, 'journal'),
    sandboxesDir: path.join(home, 'sandboxes'),
  };
}

/** `~` and `~/x` in the user's home, as a shell and QwenPaw's `Path.expanduser()` read them; any other path as given. */
export function expandHome(dir: string, homeDir: string): string {
  if (dir === '~') return homeDir;
  if (dir.startsWith('~/')) return path.join(homeDir, dir.slice(2));
  return dir;
}

export function sandboxBundleDir(layout: HomeLayout, sandbox: string): string {
  return path.join(layout.bundlesRoot, sandbox);
}

/** ISO UTC with ':' and '.' replaced by '-', e.g. 2026-04-21T14-11-25-795Z. */
export function bundleTimestamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

export function parseBundleTimestamp(stamp: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(stamp);
  if (!m) return undefined;
  const date = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
