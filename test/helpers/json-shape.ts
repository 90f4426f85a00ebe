/**
 * The shape of a JSON value: every key, recursively, with the type of its value. Array elements are
 * merged into one shape (keys of every element; differing types joined as "a|b"), so a rename or a
 * removal anywhere in a document changes the shape, while values (paths, sizes, times) do not.
 */
export type Shape = string | Shape[] | { [key: string]: Shape };

export function shapeOf(value: unknown): Shape {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return [];
    return [value.map(shapeOf).reduce(mergeShapes)];
  }
  if (typeof value === 'object') {
    const out: Record<string, Shape> = {};
    for (const key of Object.keys(value as object).sort()) out[key] = shapeOf((value as Record<string, unknown>)[key]);
    return out;
  }
  return typeof value;
}

function kind(shape: Shape): 'scalar' | 'array' | 'object' {
  if (typeof shape === 'string') return 'scalar';
  return Array.isArray(shape) ? 'array' : 'object';
}

function mergeShapes(a: Shape, b: Shape): Shape {
  if (kind(a) === 'object' && kind(b) === 'object') {
    const x = a as Record<string, Shape>;
    const y = b as Record<string, Shape>;
    const out: Record<string, Shape> = {};
    for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      out[key] = x[key] === undefined ? y[key]! : y[key] === undefined ? x[key]! : mergeShapes(x[key]!, y[key]!);
    }
    return out;
  }
  if (kind(a) === 'array' && kind(b) === 'array') {
    const all = [...(a as Shape[]), ...(b as Shape[])];
    return all.length === 0 ? [] : [all.reduce(mergeShapes)];
  }
  if (typeof a === 'string' && typeof b === 'string') return [...new Set([...a.split('|'), ...b.split('|')])].sort().join('|');
  return `${JSON.stringify(a)}|${JSON.stringify(b)}`;
}
