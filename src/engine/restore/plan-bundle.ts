import picomatch from 'picomatch';
import { RefusedError } from '../../errors.js';
import { linkStaysInside } from '../../fs-safety/safe-path.js';
import { restoredMode } from '../bundle/restored-mode.js';
import type { PathClass } from '../sandbox/selection.js';
import { companionsOf, fileMerges } from './plan-includes.js';
import type { Follows, PlanInput, PlanItem } from './plan-types.js';
import { joinRel, stripPrefix, under } from './plan-paths.js';
import type { OpenUnit } from './plan-units.js';

/** A unit holding the bundle's entries in scope, before the live tree is walked. */
export interface UnitDraft extends OpenUnit {
  items: Map<string, PlanItem>;
  rootMode: number | undefined;
  /** The rels of files kept in line with a config this unit restores (written or not by the bundle). */
  follows: Map<string, Follows>;
}

/** How each bundle entry was classified, so the walk of the live tree need not classify the same path again. */
export type ClassCache = ReadonlyMap<string, { cls: PathClass; isDir: boolean }>;

const MAX_LISTED = 20;

/** Step 1: the bundle's entries in scope, placed in the unit whose part holds their prefix. Refuses links that leave their root. */
export function placeBundleEntries(input: PlanInput, opened: readonly OpenUnit[]): { units: UnitDraft[]; classes: ClassCache } {
  const { bundle, selection, mounts, agentManifest } = input;
  const allowLink = agentManifest.managedLinks.length > 0 ? picomatch(agentManifest.managedLinks, { dot: true }) : () => false;
  const mergeRules = new Map(agentManifest.stateFiles.filter((f) => f.merge).map((f) => [f.path, f.merge!]));
  const merges = fileMerges(mergeRules, {
    entry: (p) => bundle.entries.find((e) => e.path === p),
    payloadDir: input.payloadDir,
    liveRoot: mounts.find((m) => m.prefix === '')?.dir,
    readLive: (file) => input.live.readText(file),
  });
  const bundlePrefixes = mounts.filter((m) => m.inBundle).map((m) => m.prefix).sort((a, b) => b.length - a.length);
  const units: UnitDraft[] = opened.map((unit) => ({ ...unit, items: new Map(), rootMode: undefined, follows: new Map() }));
  const unitOfPrefix = new Map<string, { unit: UnitDraft; rel: string }>();
  for (const unit of units) for (const part of unit.group.parts) if (!part.keep) unitOfPrefix.set(part.prefix, { unit, rel: part.rel });

  const classes = new Map<string, { cls: PathClass; isDir: boolean }>();
  // One prefix string for every source path: each is then one concatenation, not two.
  const payloadPrefix = `${input.payloadDir}/`;
  const unsafeLinks: string[] = [];
  for (const entry of bundle.entries) {
    const prefix = bundlePrefixes.find((p) => under(entry.path, p)) ?? '';
    const place = unitOfPrefix.get(prefix);
    if (!place) continue;
    const rel = joinRel(place.rel, stripPrefix(entry.path, prefix));
    const cls = selection.classify(entry.path, entry.type === 'dir');
    classes.set(entry.path, { cls, isDir: entry.type === 'dir' });
    if (cls.kind !== 'in_scope') continue;
    const mode = restoredMode(entry, selection.isSecretModule(cls.module));
    if (rel === '') {
      if (entry.type === 'dir') place.unit.rootMode = mode;
      continue;
    }
    if (entry.type === 'symlink' && !linkStaysInside(stripPrefix(entry.path, prefix), entry.target ?? '') && !allowLink(entry.path)) {
      unsafeLinks.push(`${entry.path} -> ${entry.target}`);
    }
    const merge = entry.type === 'file' && prefix === '' ? merges.get(entry.path) : undefined;
    const item: PlanItem =
      entry.type === 'dir'
        ? { kind: 'dir', rel, mode, origin: 'bundle' }
        : // Entry paths were checked by parseBundleManifest (normalised, relative, no '..'), so a plain join stays inside.
          { kind: 'restore', rel, entry, source: payloadPrefix + entry.path, mode, ...(merge ? { merge: merge.rule, ...(merge.at ? { mergeAt: merge.at } : {}) } : {}) };
    place.unit.items.set(rel, item);
    if (merge?.rule.kind === 'openclaw-config' && !merge.at) noteCompanions(place.unit, place.rel, entry.path, rel);
  }
  for (const unit of units) markFollowers(unit);
  if (unsafeLinks.length > 0) {
    throw new RefusedError('unsafe-links', `the bundle holds ${unsafeLinks.length} symlink(s) that are absolute or leave their root`, {
      hint: 'declare them under managed_links in the agent manifest if the agent manages them itself',
      details: unsafeLinks.slice(0, MAX_LISTED),
    });
  }
  return { units, classes };
}

/** The config at payload path `config` (rel `configRel` in a part at `partRel`) is restored: its companions follow it. */
function noteCompanions(unit: UnitDraft, partRel: string, config: string, configRel: string): void {
  for (const c of companionsOf(config)) unit.follows.set(joinRel(partRel, c.path), { role: c.role, rel: configRel, path: config });
}

/** The snapshot's own companion files: written after their config, as the snapshot has them only if the config is too. */
function markFollowers(unit: UnitDraft): void {
  for (const [rel, follows] of unit.follows) {
    const item = unit.items.get(rel);
    if (item?.kind === 'restore' && item.entry.type === 'file' && item.entry.strategy !== 'sqlite_backup' && !item.merge) unit.items.set(rel, { ...item, follows });
  }
}
