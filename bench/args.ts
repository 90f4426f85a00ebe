import type { FixtureScale } from '../fixtures/generate.js';

export type Place = 'tmpfs' | 'disk';

export interface BenchOptions {
  scales: FixtureScale[];
  places: Place[];
  /** Runs per home × place; undefined means the default for the place. */
  runs: number | undefined;
  jsonFile: string | undefined;
  /** Also the SQLite section: a 500 MB WAL database under a writer (about a minute). */
  sqlite: boolean;
  /** Leaves out export and import (gzip is two thirds of a large run). */
  noExport: boolean;
  help: boolean;
}

const SCALES: readonly FixtureScale[] = ['small', 'medium', 'large', 'xlarge'];
export const DEFAULT_RUNS: Record<Place, number> = { tmpfs: 1, disk: 3 };

export const USAGE = `usage: npm run bench -- [--scale small|medium|large|xlarge|none]... [--where tmpfs|disk|both] [--runs N] [--sqlite] [--no-export] [--json FILE]

  --scale   fixture sizes to measure (repeatable or comma list; default medium,large; none: only --sqlite)
            xlarge is ~200,000 files / 2 GB: ~40 s to generate, several minutes per run
  --where   tmpfs (/dev/shm) and/or disk (os.tmpdir(), else /var/tmp); default both
  --runs    runs per home and place, medians quoted (default 1 on tmpfs, 3 on disk)
  --sqlite  also a 500 MB WAL database under a writer committing every 50 ms: snapshot create
            against sqlite3 .backup (adds about a minute per place and run)
  --no-export  leave out export and import and their tar czf/xzf references (two thirds of a run's time)
  --json    also write every sample and median to FILE`;

export class BenchUsageError extends Error {}

/** Parses the bench's own flags; values may follow as the next token or after '='. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const scales: FixtureScale[] = [];
  let places: Place[] = ['tmpfs', 'disk'];
  let runs: number | undefined;
  let jsonFile: string | undefined;
  let sqlite = false;
  let noExport = false;
  let none = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const eq = token.indexOf('=');
    const flag = token.startsWith('--') && eq > 0 ? token.slice(0, eq) : token;
    const inline = token.startsWith('--') && eq > 0 ? token.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new BenchUsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--scale':
        for (const s of value().split(',')) {
          if (s.trim() === 'none') {
            none = true;
            continue;
          }
          const scale = s.trim() as FixtureScale;
          if (!SCALES.includes(scale)) throw new BenchUsageError(`--scale: expected small, medium, large, xlarge or none, got '${s}'`);
          if (!scales.includes(scale)) scales.push(scale);
        }
        break;
      case '--where': {
        const where = value();
        if (where === 'both') places = ['tmpfs', 'disk'];
        else if (where === 'tmpfs' || where === 'disk') places = [where];
        else throw new BenchUsageError(`--where: expected tmpfs, disk or both, got '${where}'`);
        break;
      }
      case '--runs': {
        const raw = value();
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1) throw new BenchUsageError(`--runs: expected a positive integer, got '${raw}'`);
        runs = n;
        break;
      }
      case '--json':
        jsonFile = value();
        break;
      case '--sqlite':
        sqlite = true;
        break;
      case '--no-export':
        noExport = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        throw new BenchUsageError(`unknown argument '${token}'`);
    }
  }
  if (none && scales.length > 0) throw new BenchUsageError('--scale none cannot be combined with a size');
  if (none && !sqlite) throw new BenchUsageError('--scale none measures nothing without --sqlite');
  return { scales: none ? [] : scales.length > 0 ? scales : ['medium', 'large'], places, runs, jsonFile, sqlite, noExport, help };
}
