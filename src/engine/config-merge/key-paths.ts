/**
 * Dotted key paths as manifests write them (`tools.toolSearch`, `models.providers.*.apiKey`).
 * A `*` segment matches any one key. Keys that themselves contain a dot cannot be named.
 */
export type KeyPattern = readonly string[];

export function parseKeyPath(dotted: string): KeyPattern {
  return dotted.split('.');
}

export function matchesAny(patterns: readonly KeyPattern[], path: readonly string[]): boolean {
  return patterns.some(
    (pattern) => pattern.length === path.length && pattern.every((segment, i) => segment === '*' || segment === path[i]),
  );
}
