import { ClawbackError, ExitCode, MalformedManifestError, UnsafeEntryPathError } from '../errors.js';
import { relativePathProblem } from '../fs-safety/safe-path.js';
import { isRecord } from '../records.js';
import { MANIFEST_FILE, type BundleHeader, type CustomPolicy } from './bundle-manifest.js';

/**
 * The bundles NemoClaw v0.0.x wrote itself (`nemoclaw <name> snapshot create`, `backup-all`,
 * `rebuild`): `rebuild-manifest.json` (JSON.stringify(…, null, 2), mode 0600) with the captured
 * state dirs and state files directly beside it. No inventory, no hashes.
 */
export const NEMOCLAW_FORMAT = 'nemoclaw-v1';
export const NEMOCLAW_VERSION = 1;

export type StateFileStrategy = 'copy' | 'sqlite_backup';

export interface NemoClawManifest {
  version: 1;
  sandboxName: string;
  timestamp: string;
  agentType: string;
  agentVersion: string | null;
  expectedVersion: string | null;
  stateDirs: string[];
  /** Written after the copy; older bundles lack it (then every state dir counts as captured). */
  backedUpDirs: string[] | undefined;
  failedBackupDirs: string[];
  stateFiles: Array<{ path: string; strategy: StateFileStrategy }>;
  /** The agent's state dir inside the sandbox (`/sandbox/.openclaw`); the oldest bundles said `writableDir`. */
  dir: string | null;
  /** Where NemoClaw wrote the bundle (an absolute host path; informative only, never used to read). */
  backupPath: string | null;
  blueprintDigest: string | null;
  policyPresets: string[];
  customPolicies: CustomPolicy[];
  name: string | null;
  /** NemoClaw's later v1 bundles say false until the copy finished; absent on older ones. */
  backupComplete: boolean;
}

/**
 * Whether a parsed rebuild-manifest.json is NemoClaw's rather than clawback's: clawback always
 * writes `format`, `tool` and an inventory; NemoClaw never does, and names its state dirs or paths.
 */
export function isNemoClawManifest(raw: Record<string, unknown>): boolean {
  return raw.format === undefined && raw.entries === undefined && raw.tool === undefined && ['stateDirs', 'dir', 'writableDir', 'backupPath', 'nativeState'].some((key) => key in raw);
}

function fail(file: string, what: string): never {
  throw new MalformedManifestError(`${file}: ${what} (NemoClaw bundle)`);
}

function optionalString(raw: unknown): string | null {
  return typeof raw === 'string' ? raw : null;
}

/** A path NemoClaw names must be a plain relative path below the bundle, and not its own manifest. */
function checkedPath(value: unknown, what: string, file: string): string {
  if (typeof value !== 'string') fail(file, `${what} is not a string`);
  const problem = relativePathProblem(value);
  if (problem) throw new UnsafeEntryPathError(`${file}: ${what} ${JSON.stringify(value)} ${problem}`);
  if (value === MANIFEST_FILE) throw new UnsafeEntryPathError(`${file}: ${what} names the manifest itself`);
  return value;
}

function pathList(raw: unknown, what: string, file: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail(file, `${what} is not a list`);
  const paths = raw.map((value, i) => checkedPath(value, `${what}[${i}]`, file));
  const seen = new Set<string>();
  for (const p of paths) {
    if (seen.has(p)) throw new UnsafeEntryPathError(`${file}: ${what} lists ${JSON.stringify(p)} twice`);
    seen.add(p);
  }
  return paths;
}

function stateFiles(raw: unknown, file: string): NemoClawManifest['stateFiles'] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail(file, 'stateFiles is not a list');
  return raw.map((spec, i) => {
    if (!isRecord(spec)) fail(file, `stateFiles[${i}] is not an object`);
    const strategy = spec.strategy ?? 'copy';
    if (strategy !== 'copy' && strategy !== 'sqlite_backup') fail(file, `stateFiles[${i}] has the unknown strategy ${JSON.stringify(strategy)}`);
    return { path: checkedPath(spec.path, `stateFiles[${i}].path`, file), strategy };
  });
}

function customPolicies(raw: unknown): CustomPolicy[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(isRecord).flatMap((p) => (typeof p.name === 'string' && typeof p.content === 'string' ? [{ name: p.name, content: p.content }] : []));
}

/**
 * NemoClaw's manifest, failing closed: another version (NemoClaw's v2 holds one opaque tar) is
 * unsupported, a path that is absolute, has `..` or is not normalised is unsafe, the rest malformed.
 */
export function parseNemoClawManifest(raw: Record<string, unknown>, file: string): NemoClawManifest {
  if (raw.version !== NEMOCLAW_VERSION) {
    throw new ClawbackError('unsupported-bundle', ExitCode.integrity, `${file}: NemoClaw bundle version ${JSON.stringify(raw.version)} is not supported; clawback reads ${NEMOCLAW_FORMAT} (version 1)`, {
      hint: 'restore it with the NemoClaw release that wrote it, then take a clawback snapshot',
    });
  }
  if (typeof raw.sandboxName !== 'string' || typeof raw.timestamp !== 'string') fail(file, 'sandboxName or timestamp missing');
  const stateDirs = pathList(raw.stateDirs, 'stateDirs', file);
  const backedUpDirs = raw.backedUpDirs === undefined ? undefined : pathList(raw.backedUpDirs, 'backedUpDirs', file);
  const files = stateFiles(raw.stateFiles, file);
  const dirs = backedUpDirs ?? stateDirs;
  const clash = files.find((f) => dirs.some((d) => f.path === d || f.path.startsWith(d + '/') || d.startsWith(f.path + '/')));
  if (clash) throw new UnsafeEntryPathError(`${file}: state file ${JSON.stringify(clash.path)} overlaps a state dir`);
  return {
    version: NEMOCLAW_VERSION,
    sandboxName: raw.sandboxName,
    timestamp: raw.timestamp,
    agentType: typeof raw.agentType === 'string' ? raw.agentType : 'openclaw',
    agentVersion: optionalString(raw.agentVersion),
    expectedVersion: optionalString(raw.expectedVersion),
    stateDirs,
    backedUpDirs,
    failedBackupDirs: Array.isArray(raw.failedBackupDirs) ? raw.failedBackupDirs.filter((d): d is string => typeof d === 'string') : [],
    stateFiles: files,
    dir: optionalString(raw.dir) ?? optionalString(raw.writableDir),
    backupPath: optionalString(raw.backupPath),
    blueprintDigest: optionalString(raw.blueprintDigest),
    policyPresets: Array.isArray(raw.policyPresets) ? raw.policyPresets.filter((p): p is string => typeof p === 'string') : [],
    customPolicies: customPolicies(raw.customPolicies),
    name: optionalString(raw.name),
    backupComplete: raw.backupComplete !== false,
  };
}

/** What a NemoClaw bundle holds beside its manifest: the captured dirs (whole trees) and the state files. */
export function nemoclawCoveredPaths(manifest: NemoClawManifest): string[] {
  return [...(manifest.backedUpDirs ?? manifest.stateDirs), ...manifest.stateFiles.map((f) => f.path)];
}

/**
 * The clawback header a NemoClaw bundle reads as. Its scope covers only the paths it holds, so a
 * restore leaves the rest of the home alone; secrets are left out (NemoClaw stripped credentials
 * from its bundles, so what it kept there must not replace the live ones).
 */
export function nemoclawHeader(manifest: NemoClawManifest, totals: { files: number; bytes: number }): BundleHeader {
  return {
    version: NEMOCLAW_VERSION,
    format: NEMOCLAW_FORMAT,
    tool: { name: 'nemoclaw', version: 'unknown' },
    sandboxName: manifest.sandboxName,
    timestamp: manifest.timestamp,
    name: manifest.name,
    agentType: manifest.agentType,
    agentVersion: manifest.agentVersion,
    capture: 'selective',
    stateDirs: manifest.stateDirs,
    backedUpDirs: manifest.backedUpDirs ?? manifest.stateDirs,
    failedBackupDirs: manifest.failedBackupDirs,
    stateFiles: manifest.stateFiles,
    modules: [],
    includesSecrets: false,
    policyPresets: manifest.policyPresets,
    customPolicies: manifest.customPolicies,
    backupComplete: manifest.backupComplete,
    scope: { full: true, modules: [], agents: null, includesSecrets: false, excludes: [], paths: nemoclawCoveredPaths(manifest) },
    mounts: [],
    nemoclaw: { dir: manifest.dir, backupPath: manifest.backupPath, blueprintDigest: manifest.blueprintDigest, expectedVersion: manifest.expectedVersion },
    totals,
  };
}
