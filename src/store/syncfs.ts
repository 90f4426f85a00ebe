import { spawnSync } from 'node:child_process';

/** syncfs(2) through coreutils `sync -f`; false when that is not available. */
export function syncfs(dir: string): boolean {
  const result = spawnSync('sync', ['-f', dir], { stdio: 'ignore' });
  return result.status === 0;
}
