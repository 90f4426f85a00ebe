/** Plan paths are POSIX and relative ('' = the unit or prefix itself). */

export function joinRel(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}

export function under(p: string, dir: string): boolean {
  return dir === '' || p === dir || p.startsWith(dir + '/');
}

export function stripPrefix(p: string, prefix: string): string {
  return prefix === '' ? p : p === prefix ? '' : p.slice(prefix.length + 1);
}

export function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}
