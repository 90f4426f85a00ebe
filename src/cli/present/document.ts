/**
 * Every --json document on stdout. Each command's document is a declared type in its presenter,
 * built field by field from the engine's result, so renaming an engine field is a compile error
 * here instead of a silent change to the contract (test/e2e/json-contract.test.ts checks the shapes).
 */
export interface JsonDocument {
  schemaVersion: 1;
}

/** A bundle as the documents name it. */
export interface BundleRefJson {
  timestamp: string;
  name: string | null;
  version: number | null;
}

/** "v3 2026-…Z "label"": how text output names a bundle. */
export function bundleName(b: { version: number | null; id: string; name: string | null }): string {
  return `${b.version !== null ? `v${b.version} ` : ''}${b.id}${b.name ? ` "${b.name}"` : ''}`;
}
