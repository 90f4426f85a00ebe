/** A parsed config table: a JSON object, a TOML table or a YAML mapping. */
export type ConfigRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is ConfigRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  // smol-toml builds its tables without a prototype.
  return proto === Object.prototype || proto === null;
}

/** The key's own value, or undefined: a plain `obj[key]` would read `__proto__` from the prototype. */
export function getOwn(record: ConfigRecord, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Sets an own property even for `__proto__`, which plain assignment would turn into a prototype change. */
export function setOwn(record: ConfigRecord, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The keys of both records: first's order, then the keys only the second has. */
export function unionKeys(first: ConfigRecord, second: ConfigRecord): string[] {
  const keys = Object.keys(first);
  for (const key of Object.keys(second)) if (!Object.hasOwn(first, key)) keys.push(key);
  return keys;
}

/** The string `id` of a list entry such as an OpenClaw model, if it has one. */
export function entryId(entry: unknown): string | undefined {
  if (!isRecord(entry)) return undefined;
  const id = getOwn(entry, 'id');
  return typeof id === 'string' ? id : undefined;
}

/** The type a key-allowlist compares: TOML integers (bigint) and floats are both numbers. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (isRecord(value)) return 'table';
  if (typeof value === 'bigint') return 'number';
  return typeof value;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a instanceof Date && b instanceof Date) {
    // TomlDate's toISOString keeps the TOML form, so a local date differs from a UTC midnight.
    return a.constructor === b.constructor && a.toISOString() === b.toISOString();
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}
