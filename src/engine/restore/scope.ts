import picomatch from 'picomatch';
import { NotFoundError, UsageError } from '../../errors.js';
import type { BundleManifest } from '../../manifest/bundle-manifest.js';
import { closest } from '../../suggest.js';
import type { ScopeOptions, Selection } from '../sandbox/selection.js';
import { under } from './plan-paths.js';

/** What a restore asks for, of the bundle's content. */
export interface ScopeRequest {
  sandbox: string;
  only?: string[];
  agents?: string[];
  /** `--path`: globs (or plain paths) relative to the snapshot's root. */
  paths?: string[];
}

/** Bundle scope ∩ request scope: a partial bundle restores only what it holds; everything else stays. */
export function restoreScope(bundle: BundleManifest, request: ScopeRequest): ScopeOptions {
  const scope: ScopeOptions = { noSecrets: !bundle.scope.includesSecrets, excludes: bundle.scope.excludes };
  if (bundle.scope.paths) scope.within = bundle.scope.paths;
  if (request.paths) {
    const matched = matchSnapshotPaths(bundle, request.paths, request.sandbox);
    scope.within = scope.within ? intersectWithin(scope.within, matched) : matched;
  }
  if (request.only) {
    const missing = bundle.scope.full ? [] : request.only.filter((m) => !bundle.scope.modules.includes(m));
    if (missing.length > 0) {
      throw new UsageError(`snapshot ${bundle.timestamp} does not hold module ${missing.map((m) => JSON.stringify(m)).join(', ')}`, {
        hint: `it holds ${bundle.scope.modules.join(', ')}`,
      });
    }
    scope.only = request.only;
  } else if (!bundle.scope.full) scope.only = bundle.scope.modules;
  const bundleAgents = bundle.scope.agents;
  if (request.agents) {
    // A full bundle names no agents in its scope: the ones it holds are those its entries belong to.
    const held = bundleAgents ?? [...new Set(bundle.entries.flatMap((e) => (e.agent === undefined ? [] : [e.agent])))].sort();
    const missing = request.agents.filter((a) => !held.includes(a));
    if (missing.length > 0) {
      throw new UsageError(`snapshot ${bundle.timestamp} does not hold agent ${missing.map((a) => JSON.stringify(a)).join(', ')}`, {
        hint: held.length > 0 ? `it holds ${held.join(', ')}` : 'it holds no per-agent state; leave out --agent',
      });
    }
    scope.agents = request.agents;
  } else if (bundleAgents) scope.agents = bundleAgents;
  return scope;
}

/** What matching --path needs of a bundle. */
type SnapshotPaths = Pick<BundleManifest, 'timestamp'> & { entries: ReadonlyArray<Pick<BundleManifest['entries'][number], 'path'>> };

/** 'workspace/', './workspace', '/workspace' → 'workspace'; refuses '..' and the root itself. */
function normaliseGlob(raw: string): string {
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new UsageError(`--path ${JSON.stringify(raw)}: a path inside a snapshot cannot contain '..'`);
  if (parts.length === 0) throw new UsageError(`--path ${JSON.stringify(raw)} names the whole snapshot`, { hint: 'leave out --path to restore everything' });
  return parts.join('/');
}

/**
 * The snapshot paths `--path` names, each standing for itself and everything below it: a plain path
 * is that file or directory; a glob (picomatch, dotfiles included) matches whole paths from the
 * snapshot's root. Only what the snapshot holds is named, so a live file the snapshot never had is
 * never matched. A glob that matches nothing is exit 4, with the nearest path as a hint.
 */
export function matchSnapshotPaths(bundle: SnapshotPaths, globs: readonly string[], sandbox: string): string[] {
  const paths = bundle.entries.map((e) => e.path);
  const matched: string[] = [];
  for (const raw of globs) {
    const glob = normaliseGlob(raw);
    const plain = !picomatch.scan(glob).isGlob;
    const matches = plain ? (p: string): boolean => under(p, glob) : picomatch(glob, { dot: true });
    const found = paths.filter((p) => matches(p));
    if (found.length === 0) throw noMatch(raw, glob, paths, bundle, sandbox);
    matched.push(...(plain ? [glob] : found));
  }
  return outermost(matched);
}

function noMatch(raw: string, glob: string, paths: readonly string[], bundle: SnapshotPaths, sandbox: string): NotFoundError {
  const base = glob.slice(glob.lastIndexOf('/') + 1);
  // A typo of a whole path, else the same name somewhere else (`SOUL.md` → `workspace/SOUL.md`).
  const elsewhere = paths.filter((p) => p.endsWith(`/${base}`) || picomatch.isMatch(p.slice(p.lastIndexOf('/') + 1), base, { dot: true }));
  const guess = closest(glob, paths) ?? elsewhere.sort((a, b) => a.length - b.length || (a < b ? -1 : 1))[0];
  const find = `\`clawback ${sandbox} snapshot find ${JSON.stringify(base)}\` finds it in every snapshot`;
  return new NotFoundError('path-not-in-snapshot', `snapshot ${bundle.timestamp} of ${sandbox} holds nothing at ${raw}`, {
    hint: guess !== undefined ? `did you mean ${JSON.stringify(guess)}? (${find})` : `paths are relative to the state root; ${find}`,
  });
}

/** The paths not below another one of the list, sorted: the same selection, fewer prefixes to test. */
function outermost(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  const kept: string[] = [];
  for (const p of sorted) if (!kept.some((k) => under(p, k))) kept.push(p);
  return kept;
}

/** Two lists of subtrees: the subtrees in both. */
export function intersectWithin(a: readonly string[], b: readonly string[]): string[] {
  const both: string[] = [];
  for (const x of a) for (const y of b) if (under(x, y)) both.push(x);
  for (const y of b) for (const x of a) if (under(y, x)) both.push(y);
  return outermost(both);
}

/** `--path` together with `--only`/`--agent` (or a partial bundle) may leave nothing: exit 4 rather than a restore that does nothing. */
export function assertPathsSelected(bundle: BundleManifest, selection: Selection, request: ScopeRequest): void {
  if (!request.paths) return;
  const selected = bundle.entries.some((e) => selection.classify(e.path, e.type === 'dir').kind === 'in_scope');
  if (selected) return;
  throw new NotFoundError('path-not-in-scope', `nothing in snapshot ${bundle.timestamp} of ${request.sandbox} matches --path ${request.paths.join(' ')} within what this restore selects`, {
    hint: request.only || request.agents ? '--path is combined with --only/--agent: leave those out, or name paths inside them' : 'the snapshot leaves those paths out (secrets, excludes)',
  });
}
