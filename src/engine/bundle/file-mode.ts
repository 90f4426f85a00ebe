/** A payload file keeps its mode bits minus group/other write and the special bits. */
export function bundleFileMode(mode: number): number {
  return mode & ~0o022 & 0o777;
}
